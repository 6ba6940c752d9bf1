"""Where data lives, and fetching a missing file once: atomic download with a checksum.

The data folder is laid out like the project's shared copy: `multi30k/`, `tatoeba/`, `mnist/`. It is, first
found: the explicit argument, the environment variable ENC2DEC_DATA, or ~/.cache/enc2dec. Loaders call
`ensure_file`, which returns the cached file or downloads it; nothing touches the network when the file is there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from enc2dec.files import atomic_write, sha256_file

log = logging.getLogger(__name__)

DATA_ENV = "ENC2DEC_DATA"
DEFAULT_DIR = Path("~/.cache/enc2dec")
_BLOCK = 1 << 20


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data folder: `explicit` if given, else $ENC2DEC_DATA, else ~/.cache/enc2dec (not created here)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return DEFAULT_DIR.expanduser()


_resolve_dir = data_dir  # for ensure_file, whose argument `data_dir` shadows the function


def check_sha256(path: str | Path, expected: str) -> None:
    """Raise ValueError naming the file, the expected and the actual digest, if they differ."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ValueError(f"{path}: checksum mismatch: expected sha256 {expected.lower()}, got {actual}")


def download(url: str, dest: str | Path, sha256: str | None = None, *, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` atomically (enc2dec.files.atomic_write): into a temporary file beside it, checked,
    then renamed.

    A checksum mismatch raises ValueError naming the file, the expected and the actual digest, and leaves no file
    behind (neither `dest` nor the temporary one). Network failures raise OSError naming the URL.
    """
    dest = Path(dest)
    log.info("downloading %s -> %s", url, dest)

    def fetch(tmp: Path) -> None:
        digest = hashlib.sha256()
        request = urllib.request.Request(url, headers={"User-Agent": "enc2dec"})
        with open(tmp, "wb") as out:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    for block in iter(lambda: response.read(_BLOCK), b""):
                        digest.update(block)
                        out.write(block)
            except (urllib.error.URLError, TimeoutError) as e:
                raise OSError(f"download: could not fetch {url} to {dest}: {e}") from e
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise ValueError(
                f"download: checksum mismatch for {dest.name} from {url}: expected sha256 {sha256.lower()}, "
                f"got {actual}; the file was not saved"
            )

    atomic_write(dest, fetch)
    return dest


def ensure_file(
    subdir: str,
    name: str,
    url: str | None,
    sha256: str | None,
    data_dir: str | Path | None = None,
    *,
    hint: str = "",
) -> Path:
    """Path of `<data dir>/<subdir>/<name>`, downloaded from `url` (checksum verified) if missing.

    A cached file is trusted as is (no re-hashing on each load). With `url=None` a missing file raises
    FileNotFoundError naming where it should be, followed by `hint` (how to obtain it).
    """
    path = _resolve_dir(data_dir) / subdir / name
    if path.is_file():
        return path
    if url is None:
        raise FileNotFoundError(
            f"{name} not found at {path}; put the file there, or point {DATA_ENV} (or data_dir=) at a folder "
            f"holding {subdir}/{name}" + (f". {hint}" if hint else "")
        )
    return download(url, path, sha256)
