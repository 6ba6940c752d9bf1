import json

import numpy as np
import pytest

from enc2dec.data.vocab import Vocab


def test_specials_fixed():
    v = Vocab()
    assert (v.PAD, v.UNK, v.BOS, v.EOS) == (0, 1, 2, 3)
    assert v.itos == ["<pad>", "<unk>", "<s>", "</s>"] and len(v) == 4


def test_build_orders_by_frequency_then_string():
    v = Vocab.build([["b", "a", "c"], ["c", "a"], ["d"]])
    assert v.itos[4:] == ["a", "c", "b", "d"]  # a, c twice; b, d once; ties alphabetical
    assert Vocab.build([["d"], ["c", "a"], ["b", "a", "c"]]) == v  # input order does not matter


def test_build_min_freq_and_max_size():
    lists = [["a"] * 3 + ["b"] * 2 + ["c"]]
    assert Vocab.build(lists, min_freq=2).itos[4:] == ["a", "b"]
    v = Vocab.build(lists, max_size=5)
    assert len(v) == 5 and v.itos[4:] == ["a"]
    with pytest.raises(ValueError, match="min_freq must be >= 1, got 0"):
        Vocab.build(lists, min_freq=0)
    with pytest.raises(ValueError, match="max_size must be >= 4"):
        Vocab.build(lists, max_size=3)


def test_build_ignores_literal_specials():
    v = Vocab.build([["<unk>", "x", "<s>"]])
    assert v.itos[4:] == ["x"] and v.encode(["<unk>"]) == [Vocab.UNK]


def test_encode_decode():
    v = Vocab(["hello", "world"])
    ids = v.encode(["hello", "there", "world"], add_bos=True, add_eos=True)
    assert ids == [2, 4, 1, 5, 3]
    assert v.decode(ids) == ["hello", "<unk>", "world"]
    assert v.decode(ids + [4, 0, 0]) == ["hello", "<unk>", "world"]  # stops at eos
    assert v.decode(np.array(ids + [0]), strip_specials=False) == ["<s>", "hello", "<unk>", "world", "</s>"]
    assert v.decode([4, 0, 5]) == ["hello", "world"]
    with pytest.raises(ValueError, match=r"id 9 is outside \[0, 6\)"):
        v.decode([4, 9])


def test_constructor_rejects_duplicates_and_non_strings():
    with pytest.raises(ValueError, match="'a' given twice"):
        Vocab(["a", "a"])
    with pytest.raises(ValueError, match="'<pad>' given twice"):
        Vocab(["<pad>"])
    with pytest.raises(TypeError, match="tokens must be str, got int"):
        Vocab([3])


def test_save_load_roundtrip(tmp_path):
    v = Vocab.build([["é", "ß", "a", "a", "«"]])
    path = tmp_path / "vocab.json"
    v.save(path)
    assert Vocab.load(path) == v
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temporary left behind
    assert json.loads(path.read_text(encoding="utf-8"))["tokens"][:4] == list(Vocab.SPECIALS)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", r"bad\.json: line 1: not valid JSON"),
        ('{"tokens": ["a"]}', r"bad\.json: expected a JSON object with format 'enc2dec.vocab'"),
        ('{"format": "enc2dec.vocab", "version": 7, "tokens": []}', r"bad\.json: unsupported version 7"),
        ('{"format": "enc2dec.vocab", "version": 1, "tokens": ["a"]}', r"bad\.json: the first tokens must be"),
        (
            '{"format": "enc2dec.vocab", "version": 1, "tokens": ["<pad>", "<unk>", "<s>", "</s>", "x", "x"]}',
            r"bad\.json: .*'x' given twice",
        ),
    ],
)
def test_load_malformed(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Vocab.load(path)


@pytest.mark.parametrize(
    "data, message",
    [
        (b'{"format": "enc2dec.vocab", "version": 1, "tokens": ["\xff"]}', r"bad\.json: line 1: invalid UTF-8"),
        (b"[]", r"bad\.json: expected a JSON object with format 'enc2dec.vocab'"),
        (b'{"format": "enc2dec.vocab", "version": true, "tokens": []}', r"bad\.json: unsupported version True"),
        (
            b'{"format": "enc2dec.vocab", "version": 1, "tokens": ["<pad>", "<unk>", "<s>", "</s>", 5]}',
            r"bad\.json: Vocab: tokens must be str, got int",
        ),
        (b"", r"bad\.json: line 1: not valid JSON"),
    ],
)
def test_load_bad_bytes_name_the_file(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        Vocab.load(path)


def test_load_accepts_a_bom_and_names_a_missing_file(tmp_path):
    path = tmp_path / "v.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(Vocab(["a"]).to_dict()).encode())
    assert Vocab.load(path) == Vocab(["a"])
    with pytest.raises(FileNotFoundError, match=r"nope\.json: no such file"):
        Vocab.load(tmp_path / "nope.json")
