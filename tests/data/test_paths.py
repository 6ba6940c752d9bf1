import hashlib
import subprocess
import sys

import pytest

from enc2dec.data import paths
from enc2dec.data.datasets import mnist, multi30k, tatoeba


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    assert paths.data_dir() == paths.DEFAULT_DIR.expanduser()
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "env"))
    assert paths.data_dir() == tmp_path / "env"
    assert paths.data_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_download_file_url_verifies_checksum(tmp_path):
    src = tmp_path / "remote.bin"
    src.write_bytes(b"hello data")
    digest = hashlib.sha256(b"hello data").hexdigest()
    dest = paths.download(src.as_uri(), tmp_path / "cache" / "x.bin", digest)
    assert dest.read_bytes() == b"hello data"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["x.bin"]  # no temporary file left


def test_download_checksum_mismatch_leaves_nothing(tmp_path):
    src = tmp_path / "remote.bin"
    src.write_bytes(b"tampered")
    dest = tmp_path / "cache" / "x.bin"
    with pytest.raises(ValueError, match=r"checksum mismatch for x\.bin.*expected sha256 0{64}, got [0-9a-f]{64}"):
        paths.download(src.as_uri(), dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []


def test_download_failure_names_url(tmp_path):
    missing = (tmp_path / "nope.bin").as_uri()
    with pytest.raises(OSError, match="could not fetch .*nope.bin"):
        paths.download(missing, tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


def test_ensure_file_uses_cache_and_downloads_once(tmp_path):
    src = tmp_path / "remote.txt"
    src.write_text("v1")
    digest = hashlib.sha256(b"v1").hexdigest()
    path = paths.ensure_file("sub", "f.txt", src.as_uri(), digest, data_dir=tmp_path / "d")
    assert path == tmp_path / "d" / "sub" / "f.txt" and path.read_text() == "v1"
    src.unlink()  # a second call must not touch the "network"
    assert paths.ensure_file("sub", "f.txt", src.as_uri(), digest, data_dir=tmp_path / "d") == path


def test_ensure_file_without_url_explains_where(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"f\.txt not found at .*sub/f\.txt.*ENC2DEC_DATA.*get it here"):
        paths.ensure_file("sub", "f.txt", None, None, data_dir=tmp_path, hint="get it here")


def test_check_sha256(tmp_path):
    f = tmp_path / "a"
    f.write_bytes(b"abc")
    paths.check_sha256(f, hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(ValueError, match=r"a: checksum mismatch: expected sha256 f{64}"):
        paths.check_sha256(f, "f" * 64)


def test_known_checksums_match_shared_copies(shared_data):
    for name, digest in multi30k.SHA256.items():
        assert paths.sha256_file(shared_data / "multi30k" / name) == digest, name
    assert paths.sha256_file(shared_data / "tatoeba" / tatoeba.FILENAME) == tatoeba.SHA256
    assert paths.sha256_file(shared_data / "mnist" / mnist.MNIST_5K) == mnist.MNIST_5K_SHA256


def test_urls_are_well_formed():
    assert multi30k.URL.format(name="train.de.gz").startswith("https://raw.githubusercontent.com/multi30k/dataset/")
    for kind, (_, base) in mnist.SOURCES.items():
        assert base.startswith("http") and base.endswith("/")
        assert all(len(d) == 64 for d in mnist.SHA256[kind].values())


def test_import_is_light():
    code = (
        "import sys, enc2dec.data.tokenize, enc2dec.data.vocab, enc2dec.data.batching, enc2dec.data.text, "
        "enc2dec.data.synthetic, enc2dec.data.paths, enc2dec.data.datasets.multi30k, enc2dec.data.datasets.tatoeba, "
        "enc2dec.data.datasets.mnist\n"
        "heavy = [m for m in ('sentencepiece', 'sklearn', 'sacrebleu', 'yaml', 'matplotlib') if m in sys.modules]\n"
        "models = [m for m in sys.modules if m.startswith(('enc2dec.models', 'enc2dec.layers', 'enc2dec.training'))]\n"
        "assert not heavy and not models, (heavy, models)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
