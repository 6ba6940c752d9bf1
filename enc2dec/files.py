"""Crash-safe writing: one file (`atomic_write`) or a whole folder (`replace_dir`), removing a folder
(`remove_dir`), and clearing what an interrupted write left behind (`clean_leftovers`). The one place in the
package that writes a file in place of another.

A file is written under `.NAME.tmp-PID` beside its target, fsynced, renamed onto the target, and the folder
fsynced: a reader, or a process killed at any moment, sees the old file or the new one, never half of either.

A folder (a checkpoint) is built whole under `.NAME.tmp-PID` by `fill(tmp_dir)`, every file and the folder are
fsynced, then it is swapped in:
- on Linux by one renameat2(RENAME_EXCHANGE), which swaps the two names at once; the old folder, now under the
  temporary name, is then removed. NAME always names a complete folder.
- where the exchange is missing (other systems, file systems that refuse it) by two renames: NAME ->
  `.NAME.old-PID`, then `.NAME.tmp-PID` -> NAME, then the old folder is removed. A kill between the two renames
  leaves no NAME but a complete `.NAME.old-PID`; `recover_dir` renames it back. It is called by `replace_dir`,
  by `clean_leftovers` and by `checkpoint.check_checkpoint` (resume).
The first folder of a name is a plain rename. Leftovers of an interrupted write (`.NAME.tmp-PID`, and
`.NAME.old-PID` once NAME is back) are removed by `clean_leftovers(folder)`, which a run calls at its start, and
by the next `replace_dir` of the same name.

An OSError of the system while writing (disk full: ENOSPC) removes the temporary file or folder and raises one
OSError naming the target; the previous file or folder is kept.

Fault injection, for tests only. Each step that changes what a killed process leaves on disk calls
`fault_point(what, path)`: after each file written, after the fsyncs, after each rename, after the old folder is
removed (one point per batch of fsyncs: unlike a power cut, a kill cannot tell a synced file from an unsynced one).
Environment variables, read once at import (unset, a fault point costs one test of a boolean):
- ENC2DEC_FAULT_KILL_AT=k: the k-th fault point of the process (counting from 1) sends SIGKILL to the process.
- ENC2DEC_FAULT_COUNT=FILE: each fault point appends a line `k<TAB>what<TAB>path` to FILE (how many there are,
  and which save each belongs to).
- ENC2DEC_FAULT_MATCH=REGEX: only fault points whose path matches (re.search) count, e.g. those of the saves of
  one folder, so that a test can aim at the i-th point of a process's next save of last/ whatever else it writes.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import re
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

FAULT_KILL_ENV = "ENC2DEC_FAULT_KILL_AT"
FAULT_COUNT_ENV = "ENC2DEC_FAULT_COUNT"
FAULT_MATCH_ENV = "ENC2DEC_FAULT_MATCH"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)$")


def _read_fault_env() -> tuple[int, str | None, re.Pattern | None]:
    value = os.environ.get(FAULT_KILL_ENV, "")
    if value and not (value.isdigit() and int(value) > 0):
        raise ValueError(f"{FAULT_KILL_ENV} must be a positive integer, got {value!r}")
    match = os.environ.get(FAULT_MATCH_ENV)
    try:
        pattern = re.compile(match) if match else None
    except re.error as err:
        raise ValueError(f"{FAULT_MATCH_ENV} must be a regular expression, got {match!r} ({err})") from err
    return (int(value) if value else 0), os.environ.get(FAULT_COUNT_ENV) or None, pattern


_KILL_AT, _COUNT_FILE, _MATCH = _read_fault_env()
_ARMED = bool(_KILL_AT or _COUNT_FILE)
_n_points = 0


def fault_point(what: str, path: str | Path = "") -> None:
    """A place where a test may kill the process (see the module docstring); nothing unless armed."""
    if not _ARMED or (_MATCH is not None and not _MATCH.search(str(path))):
        return
    global _n_points
    _n_points += 1
    if _COUNT_FILE:
        with open(_COUNT_FILE, "a", encoding="utf-8") as f:
            f.write(f"{_n_points}\t{what}\t{path}\n")
    if _n_points == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


# -- one file -----------------------------------------------------------------------------------------------------
def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_path) for a temporary file beside `path`, fsync it, rename it onto `path`, fsync the folder.

    An error removes the temporary file and leaves `path` as it was; a system OSError (disk full, ...) becomes one
    OSError naming `path`; an OSError with its own message (errno None) and other errors pass unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path, "tmp")
    try:
        write(tmp)
        fault_point("write", tmp)
        _fsync(tmp)
        fault_point("fsync", tmp)
        os.replace(tmp, path)
    except BaseException as err:
        if isinstance(err, Exception):  # a simulated kill (a test's BaseException) leaves the file, as a kill would
            _remove(tmp)
        if isinstance(err, OSError) and err.errno is not None:
            raise OSError(f"{path}: could not write the file ({_reason(err)}); the previous one is kept") from err
        raise
    fault_point("rename", path)
    _fsync(path.parent)
    return path


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- one folder ---------------------------------------------------------------------------------------------------
def replace_dir(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Build a fresh folder with fill(tmp_dir) beside `path`, fsync it, and swap it in for `path` as a whole.

    A kill at any moment leaves `path` the previous complete folder (or none, if there was none) or the new
    complete one; see the module docstring. Errors remove the temporary folder and keep the previous one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent, only=path.name)
    tmp = _temp_path(path, "tmp")
    try:
        tmp.mkdir()
        fill(tmp)
        for sub in sorted(tmp.rglob("*")):
            _fsync(sub)
        _fsync(tmp)
        fault_point("fsync", tmp)
        _swap_in(tmp, path)
    except BaseException as err:
        if isinstance(err, Exception):
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and err.errno is not None:
            kept = f"the previous {path.name} is kept" if path.is_dir() else "nothing was saved"
            raise OSError(f"{path}: could not write the folder ({_reason(err)}); {kept}") from err
        raise
    return path


def remove_dir(path: str | Path) -> None:
    """Remove a folder so that a kill midway leaves it whole or gone: renamed to a leftover name first."""
    path = Path(path)
    doomed = _temp_path(path, "tmp")
    os.rename(path, doomed)
    fault_point("rename", doomed)
    _fsync(path.parent)
    shutil.rmtree(doomed)
    fault_point("remove", doomed)


def recover_dir(path: str | Path) -> bool:
    """If `path` is missing but a `.NAME.old-PID` of an interrupted swap is there, rename it back; True if so."""
    path = Path(path)
    if path.exists() or not path.parent.is_dir():
        return False
    olds = [p for p in _leftovers(path.parent) if p[1] == path.name and p[2] == "old"]
    if not olds:
        return False
    os.rename(olds[0][0], path)
    _fsync(path.parent)
    log.warning("%s: restored from %s, left by an interrupted save", path, olds[0][0].name)
    return True


def clean_leftovers(folder: str | Path, *, only: str | None = None) -> list[Path]:
    """Undo what interrupted writes left in `folder` (not its subfolders): restore a folder caught between the two
    renames of a swap, then remove every `.NAME.tmp-PID` and `.NAME.old-PID`. only: just those of NAME.
    Returns the paths removed. Call it at the start of a run, before reading or writing its checkpoints."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in _leftovers(folder) if only is None or p[1] == only]
    for name in sorted({name for _, name, kind in found if kind == "old"}):
        recover_dir(folder / name)
    removed = []
    for path, _, _ in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:  # renamed back by recover_dir
            continue
        removed.append(path)
    if removed:
        log.info("removed the leftovers of interrupted writes: %s", ", ".join(p.name for p in removed))
    return removed


# -- helpers ------------------------------------------------------------------------------------------------------
def _temp_path(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def _leftovers(folder: Path) -> list[tuple[Path, str, str]]:
    """(path, target name, 'tmp' | 'old') of each leftover in folder, sorted by name."""
    out = []
    for entry in sorted(os.listdir(folder)):
        match = _LEFTOVER.match(entry)
        if match:
            out.append((folder / entry, match["name"], match["kind"]))
    return out


def _swap_in(tmp: Path, path: Path) -> None:
    parent = path.parent
    if not path.exists():
        os.rename(tmp, path)
        fault_point("rename", path)
        _fsync(parent)
        return
    if _exchange(tmp, path):  # tmp now names the old folder
        fault_point("exchange", path)
        _fsync(parent)
        shutil.rmtree(tmp, ignore_errors=True)  # the new folder is in place: what is left is a leftover
        fault_point("remove", tmp)
        return
    old = _temp_path(path, "old")
    os.rename(path, old)
    fault_point("rename", old)
    try:
        os.rename(tmp, path)
    except OSError:
        os.rename(old, path)
        raise
    fault_point("rename", path)
    _fsync(parent)
    shutil.rmtree(old, ignore_errors=True)
    fault_point("remove", old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux renameat2 with RENAME_EXCHANGE); False where unsupported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    import ctypes

    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # this kernel or file system cannot: two renames instead
    raise OSError(code, os.strerror(code), str(b))


@functools.cache
def _renameat2():
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a libc older than glibc 2.28
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _fsync(path: Path) -> None:
    """fsync a file or (on POSIX) a folder, so that its contents, or its entries, survive a power cut."""
    if path.is_dir() and os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _reason(err: OSError) -> str:
    return err.strerror or str(err)
