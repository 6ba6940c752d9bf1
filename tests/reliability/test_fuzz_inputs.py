"""Property tests over the readers of user files (hypothesis): text lines (files, gzip, stdin bytes), CSV series,
vocabulary and tokenizer files. Each input gives the correct result or a clear enc2dec error, a ValueError /
TypeError / OSError whose message names the file (and, for text, the line); never another exception type.

Budget: 100 examples per test (under 10 s for the file on one core); the examples are drawn from a fixed seed
(derandomize), so a run is repeatable. Cases they cover that were wrong before the strict readers: a BOM kept in
the first line (a BOM-only file read as one line), CR line ends kept, CSV rows with extra fields read and a header
BOM refused, invalid UTF-8 in a CSV or JSON file without its line, a tokenizers.json without "src" a KeyError, a
corrupt sentencepiece model a RuntimeError and an empty one (b"") accepted.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from enc2dec.data.lines import BOM, iter_lines, read_lines
from enc2dec.data.series import load_csv
from enc2dec.data.tokenize import load_tokenizers
from enc2dec.data.vocab import Vocab

FUZZ = settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CLEAR = (ValueError, TypeError, OSError)

# byte pieces that matter to a line reader: line ends, BOMs, ASCII, valid and broken multi-byte UTF-8
PIECES = [b"\n", b"\r", b"\r\n", BOM, b"a", b" ", b"\t", b"x y", "é".encode(), "€".encode(), "😀".encode(),
          b"\xe2\x82", b"\xff", b"\xc3", b"\x80", b"\x00", b","]  # fmt: skip
text_bytes = st.one_of(st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join), st.binary(max_size=40))


def expected_lines(data: bytes) -> list[str] | int:
    """The reference reading: the decoded lines, or the 1-based line of the first invalid UTF-8 byte."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return len(re.findall(rb"\r\n|\r|\n", data[: e.start])) + 1
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines[-1] == "" else lines


@FUZZ
@given(data=text_bytes)
def test_text_reader_gives_the_lines_or_names_file_and_line(tmp_path, data):
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    expected = expected_lines(data)
    for read, name in [(lambda: read_lines(path), re.escape(str(path))),
                       (lambda: list(iter_lines(io.BytesIO(data), "<stdin>")), "<stdin>")]:  # fmt: skip
        if isinstance(expected, int):
            with pytest.raises(ValueError, match=rf"^{name}: line {expected}: invalid UTF-8"):
                read()
        else:
            assert read() == expected


@FUZZ
@given(data=text_bytes)
def test_stdin_follows_the_same_rules(monkeypatch, data):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""))
    expected = expected_lines(data)
    if isinstance(expected, int):
        with pytest.raises(ValueError, match=rf"^<stdin>: line {expected}: invalid UTF-8"):
            read_lines("-")
    else:
        assert read_lines("-") == expected


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
cells = st.one_of(numbers.map(repr), st.sampled_from(["", "NA", "x", '"', '"1"', "1,5", " 2 ", "inf", "\r", "\n"]))


@FUZZ
@given(values=st.lists(numbers, min_size=2, max_size=12), bom=st.booleans(), crlf=st.booleans())
def test_csv_reader_reads_well_formed_files_exactly(tmp_path, values, bom, crlf):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["other", "y"])
    writer.writerows([["a,b", repr(v)] for v in values])
    path = tmp_path / "s.csv"
    path.write_bytes((BOM if bom else b"") + out.getvalue().encode())
    np.testing.assert_array_equal(load_csv(path, "y").values, values)


@FUZZ
@given(rows=st.lists(st.lists(cells, max_size=4), max_size=8), raw=st.binary(max_size=20), bom=st.booleans())
def test_csv_reader_gives_a_series_or_an_error_naming_the_file(tmp_path, rows, raw, bom):
    path = tmp_path / "s.csv"
    path.write_bytes((BOM if bom else b"") + ("t,y\n" + "\n".join(",".join(r) for r in rows)).encode() + raw)
    try:
        series = load_csv(path, "y")
    except CLEAR as e:
        assert str(path) in str(e)
        event("error")
    else:
        event("read")
        assert len(series) >= 2 and np.all(np.isfinite(series.values))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
vocab_like = st.fixed_dictionaries(
    {"format": st.sampled_from(["enc2dec.vocab", "enc2dec.vocab", "x"]),
     "version": st.sampled_from([1, 1, 1, 1.0, True, 2, "1"]),
     "tokens": st.one_of(st.lists(st.text(max_size=3), max_size=8, unique=True).map(lambda t: [*Vocab.SPECIALS, *t]),
                         st.lists(st.text(max_size=2), max_size=6).map(lambda t: [*Vocab.SPECIALS, *t]), json_values)},
)  # fmt: skip


@FUZZ
@given(content=st.one_of(vocab_like.map(json.dumps).map(str.encode), json_values.map(json.dumps).map(str.encode),
                         text_bytes))  # fmt: skip
def test_vocab_load_gives_a_vocab_or_an_error_naming_the_file(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_bytes(content)
    try:
        vocab = Vocab.load(path)
    except CLEAR as e:
        assert str(path) in str(e)
        event("error")
    else:
        event("read")
        data = json.loads(content.decode("utf-8-sig"))
        assert vocab.itos == data["tokens"] and data["version"] == 1 and type(data["version"]) is int


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


tokenizer_configs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["word", "char", "sentencepiece", "bpe", 3])},
        optional={"lowercase": st.sampled_from([True, False, 1, "no", None]), "lang": st.sampled_from(["de", 2, None]),
                  "model": st.one_of(st.binary(max_size=30).map(_b64), st.sampled_from(["**", "", 5]))},
    ),
)  # fmt: skip


@FUZZ
@given(
    content=st.one_of(
        st.fixed_dictionaries({}, optional={"src": tokenizer_configs, "tgt": tokenizer_configs}).map(json.dumps),
        json_values.map(json.dumps),
    ).map(str.encode)
    | text_bytes
)
def test_tokenizer_file_gives_tokenizers_or_an_error_naming_the_file(tmp_path, content):
    path = tmp_path / "tokenizers.json"
    path.write_bytes(content)
    try:
        src, tgt = load_tokenizers(path)
    except CLEAR as e:
        assert str(path) in str(e)
        event("error")
    else:
        event("read")
        data = json.loads(content.decode("utf-8-sig"))
        assert src.to_config()["type"] == data["src"]["type"] and tgt.to_config()["type"] == data["tgt"]["type"]
        assert all(isinstance(t, str) and t for t in src.tokenize("Ein Hund."))  # a working tokenizer
