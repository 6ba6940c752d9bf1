"""enc2dec.files: atomic files and folders. A crash is simulated in-process at every fault point (a BaseException
raised where a test would SIGKILL the process), on both ways of swapping a folder in; the real kills are in
tests/reliability/."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from enc2dec import files


class SimulatedKill(BaseException):
    """Not an Exception: the helpers' error handling does not run for it, as for SIGKILL."""


def _crash_at(monkeypatch, k: int | None) -> list[str]:
    """Make the k-th fault point (1-based) raise SimulatedKill; return the list the points are recorded in."""
    seen: list[str] = []

    def point(what: str, path="") -> None:
        seen.append(what)
        if len(seen) == k:
            raise SimulatedKill(what)

    monkeypatch.setattr(files, "fault_point", point)
    return seen


def _fill(text: str):
    def fill(tmp: Path) -> None:
        for name in ("a.txt", "b.txt"):
            (tmp / name).write_text(f"{text} {name}")
            files.fault_point("write", tmp / name)

    return fill


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


OLD = {"a.txt": "old a.txt", "b.txt": "old b.txt"}
NEW = {"a.txt": "new a.txt", "b.txt": "new b.txt"}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_replace_dir_killed_at_every_point_leaves_old_or_new(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    elif files._renameat2() is None:
        pytest.skip("no renameat2 here")
    target = tmp_path / "last"
    files.replace_dir(target, _fill("old"))
    seen = _crash_at(monkeypatch, None)
    files.replace_dir(target, _fill("new"))
    n_points = len(seen)
    assert n_points == (5 if exchange else 6)  # 2 writes, fsync, the swap (1 exchange or 2 renames), remove
    outcomes = []
    for k in range(1, n_points + 1):
        files.replace_dir(target, _fill("old"))
        _crash_at(monkeypatch, k)
        with pytest.raises(SimulatedKill):
            files.replace_dir(target, _fill("new"))
        files.clean_leftovers(tmp_path)  # what the next start does
        assert sorted(p.name for p in tmp_path.iterdir()) == ["last"], k
        outcomes.append("new" if _contents(target) == NEW else "old" if _contents(target) == OLD else "torn")
        monkeypatch.undo()
        if not exchange:
            monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    swap = outcomes.index("new")
    assert outcomes == ["old"] * swap + ["new"] * (n_points - swap) and swap == (3 if exchange else 4)


def test_a_first_replace_dir_killed_leaves_none_or_new(tmp_path, monkeypatch):
    for k in range(1, 5):  # 2 writes, fsync, rename
        _crash_at(monkeypatch, k)
        with pytest.raises(SimulatedKill):
            files.replace_dir(tmp_path / "best", _fill("new"))
        files.clean_leftovers(tmp_path)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ([] if k < 4 else ["best"]), k
        if k == 4:
            assert _contents(tmp_path / "best") == NEW


def test_recover_dir_restores_a_folder_caught_between_two_renames(tmp_path):
    (tmp_path / ".last.old-123").mkdir()
    (tmp_path / ".last.old-123" / "a.txt").write_text("old a.txt")
    (tmp_path / ".last.tmp-123").mkdir()
    assert files.recover_dir(tmp_path / "last") and (tmp_path / "last" / "a.txt").read_text() == "old a.txt"
    assert not files.recover_dir(tmp_path / "last")  # present: nothing to do
    assert files.clean_leftovers(tmp_path) == [tmp_path / ".last.tmp-123"]


def test_clean_leftovers_removes_temporaries_of_files_and_folders(tmp_path):
    (tmp_path / ".vocab.json.tmp-7").write_text("half")
    (tmp_path / ".best.tmp-7").mkdir()
    (tmp_path / "best").mkdir()
    (tmp_path / ".best.old-8").mkdir()  # best is there: the old one is a leftover
    (tmp_path / ".hidden").write_text("not ours")
    removed = files.clean_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == [".best.old-8", ".best.tmp-7", ".vocab.json.tmp-7"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "best"]
    assert files.clean_leftovers(tmp_path / "nowhere") == []


@pytest.mark.parametrize("k", [1, 2, 3])
def test_atomic_write_killed_leaves_old_or_new(tmp_path, monkeypatch, k):
    path = tmp_path / "x.json"
    path.write_text("old")
    _crash_at(monkeypatch, k)  # write, fsync, rename
    with pytest.raises(SimulatedKill):
        files.atomic_write(path, lambda tmp: tmp.write_text("new"))
    files.clean_leftovers(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"] and path.read_text() == ("new" if k == 3 else "old")


def _disk_full(tmp: Path) -> None:
    tmp.write_text("half")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_is_one_clear_error_and_keeps_the_previous(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("old")
    with pytest.raises(OSError, match=r"x.json: could not write the file \(No space left on device\); the previous"):
        files.atomic_write(path, _disk_full)
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"] and path.read_text() == "old"

    files.replace_dir(tmp_path / "last", _fill("old"))
    with pytest.raises(OSError, match=r"last: could not write the folder \(No space left on device\); the previous"):
        files.replace_dir(tmp_path / "last", lambda tmp: _disk_full(tmp / "a.txt"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last", "x.json"] and _contents(tmp_path / "last") == OLD
    with pytest.raises(OSError, match=r"best: could not write the folder .*; nothing was saved"):
        files.replace_dir(tmp_path / "best", lambda tmp: _disk_full(tmp / "a.txt"))


def test_errors_with_their_own_message_pass_unchanged(tmp_path):
    def fail(tmp: Path) -> None:
        raise OSError("download: could not fetch http://x")

    with pytest.raises(OSError, match=r"^download: could not fetch http://x$"):
        files.atomic_write(tmp_path / "x", fail)
    with pytest.raises(ValueError, match="bad"):
        files.replace_dir(tmp_path / "d", lambda tmp: (_ for _ in ()).throw(ValueError("bad")))
    assert list(tmp_path.iterdir()) == []


def test_remove_dir(tmp_path, monkeypatch):
    files.replace_dir(tmp_path / "ckpt-4", _fill("old"))
    _crash_at(monkeypatch, 1)  # renamed away, not yet removed
    with pytest.raises(SimulatedKill):
        files.remove_dir(tmp_path / "ckpt-4")
    assert [p.name for p in tmp_path.iterdir()] == [f".ckpt-4.tmp-{os.getpid()}"]
    files.clean_leftovers(tmp_path)
    monkeypatch.undo()
    files.replace_dir(tmp_path / "ckpt-6", _fill("old"))
    files.remove_dir(tmp_path / "ckpt-6")
    assert list(tmp_path.iterdir()) == []


def test_fault_hook_kills_at_the_kth_point_and_counts(tmp_path):
    script = "from enc2dec import files\nfor i in range(5): files.fault_point('step', i)\nprint('survived')"
    count = tmp_path / "count.tsv"
    env = {**os.environ, files.FAULT_KILL_ENV: "3", files.FAULT_COUNT_ENV: str(count)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == -9 and "survived" not in done.stdout
    assert count.read_text().splitlines() == ["1\tstep\t0", "2\tstep\t1", "3\tstep\t2"]


def test_fault_hook_counts_only_matching_points(tmp_path):
    script = "from enc2dec import files\nfor p in 'abab': files.fault_point('step', p)\nprint('survived')"
    env = {**os.environ, files.FAULT_KILL_ENV: "2", files.FAULT_MATCH_ENV: "^b$"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == -9  # at the second b, the fourth point
    env[files.FAULT_KILL_ENV] = "3"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "survived\n"


def test_fault_hook_setting_is_checked(monkeypatch):
    monkeypatch.setenv(files.FAULT_KILL_ENV, "x")
    with pytest.raises(ValueError, match="ENC2DEC_FAULT_KILL_AT must be a positive integer, got 'x'"):
        files._read_fault_env()
    monkeypatch.setenv(files.FAULT_KILL_ENV, "4")
    assert files._read_fault_env()[0] == 4
    monkeypatch.setenv(files.FAULT_MATCH_ENV, "(")
    with pytest.raises(ValueError, match=r"ENC2DEC_FAULT_MATCH must be a regular expression, got '\('"):
        files._read_fault_env()
