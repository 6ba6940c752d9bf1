"""enc2dec.data.lines: one way to read text (files, gzip, stdin): BOM and CR/CRLF dropped, invalid UTF-8 named."""

from __future__ import annotations

import gzip
import io
import sys

import pytest

from enc2dec.data.lines import decode_text, iter_lines, read_json, read_lines, read_text


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\nb\n", ["a", "b"]),
        (b"a\nb", ["a", "b"]),  # no final line end
        (b"a\r\nb\r\n", ["a", "b"]),  # CRLF
        (b"a\rb\r", ["a", "b"]),  # lone CR
        (b"a\r\r\nb", ["a", "", "b"]),
        (b"\xef\xbb\xbfa\nb\n", ["a", "b"]),  # BOM
        (b"\xef\xbb\xbf", []),
        (b"", []),
        (b"\n\n", ["", ""]),
        (b"  x \t\n\xc3\xa9\n", ["  x \t", "\u00e9"]),  # whitespace kept, UTF-8 decoded
        (b"a\xef\xbb\xbfb\n", ["a\ufeffb"]),  # a BOM inside the text is not a BOM
    ],
)
def test_lines_rules(tmp_path, data, lines):
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    assert read_lines(path) == lines
    assert list(iter_lines(io.BytesIO(data), "x")) == lines
    gz = tmp_path / "x.txt.gz"
    gz.write_bytes(gzip.compress(data))
    assert read_lines(gz) == lines


@pytest.mark.parametrize(
    ("data", "line"), [(b"\xff\n", 1), (b"ok\r\nok\rbad \xc3(\n", 3), (b"\xef\xbb\xbfa\n\xe2\x82\n", 2)]
)
def test_invalid_utf8_names_file_and_line(tmp_path, data, line):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=rf"bad\.txt: line {line}: invalid UTF-8"):
        read_lines(path)
    with pytest.raises(ValueError, match=rf"bad\.txt: line {line}: invalid UTF-8"):
        read_text(path)


@pytest.mark.parametrize("name", [None, "-"])
def test_stdin_is_read_as_bytes_by_the_same_rules(monkeypatch, name):
    stdin = io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfEin Hund.\r\nZwei\n"), encoding="latin-1")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert read_lines(name) == ["Ein Hund.", "Zwei"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\n\xff\n")))
    with pytest.raises(ValueError, match=r"<stdin>: line 2: invalid UTF-8"):
        read_lines(name)


def test_iter_lines_streams_and_refuses_text_without_buffer():
    stream = io.BytesIO(b"1\n2\n\xff\n")
    it = iter_lines(stream, "s")
    assert next(it) == "1" and next(it) == "2"  # lines before a bad one are available
    with pytest.raises(ValueError, match="s: line 3"):
        next(it)
    with pytest.raises(TypeError, match=r"iter_lines: t: needs a binary stream"):
        list(iter_lines(io.StringIO("a"), "t"))


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.txt: no such file"):
        read_lines(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match=r": is a folder, not a file"):
        read_lines(tmp_path)
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(b"plain text")
    with pytest.raises(ValueError, match=r"bad\.txt\.gz: cannot read as gzip"):
        read_lines(bad)
    with pytest.raises(ValueError, match=r"bad\.txt\.gz: cannot read as gzip"):
        read_text(bad)


def test_decode_text_and_read_json(tmp_path):
    assert decode_text(b"\xef\xbb\xbfa,b\r\n", "f") == "a,b\r\n"
    path = tmp_path / "c.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": [1]}')
    assert read_json(path) == {"a": [1]}
    path.write_bytes(b'{\n"a": }')
    with pytest.raises(ValueError, match=r"c\.json: line 2: not valid JSON \(Expecting value, column 6\)"):
        read_json(path)
    path.write_bytes(b"[" * 100_000)
    with pytest.raises(ValueError, match=r"c\.json: not valid JSON \(nested too deeply\)"):
        read_json(path)
