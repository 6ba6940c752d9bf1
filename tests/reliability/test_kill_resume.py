"""Real training processes (`python -m enc2dec.cli train`) killed with SIGKILL, then resumed with `--resume
RUN` (from RUN/last): the resumed run must end with weights and optimizer state bit-identical to an uninterrupted run.

How the kills are placed. Only the fault points of enc2dec.files that belong to saves of last/ count
(ENC2DEC_FAULT_MATCH). A reference run, uninterrupted, records them (ENC2DEC_FAULT_COUNT): a save of last/ that
replaces an existing folder has P points (each file written, the fsyncs, the swap, the removal of the old
folder); every one of them is a kill case (ENC2DEC_FAULT_KILL_AT=k: the k-th point of the process, the i-th of its
next save of last/). Cases are chained to save process start-ups: a run killed at one point is resumed with a kill at the
next point, and so on, and only the last process of a chain runs to the end; two chains run in parallel. After
each kill last/ must pass `checkpoint.check_checkpoint` and hold the previous step (killed before the swap) or
the new one (at or after it). Each chain ends with kills from a timer at random moments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from enc2dec import files
from enc2dec.training import checkpoint
from tests.reliability import STATE_KEYS

EVAL_EVERY = 2
MAX_STEPS = 12
TIMER_KILLS = 3
LAST_SAVES = r"/(last|\.last\.(tmp|old)-\d+)(/[^/]+)?$"  # the paths of the fault points of a save of last/


def config_text() -> str:
    """The run of every case: a tiny seq2seq on the generated reversal task. The one place to adapt when the
    config format changes."""
    return textwrap.dedent(f"""\
        task: translation
        model: {{type: seq2seq, cell: lstm, embed_size: 8, hidden_size: 8, n_layers: 1, dropout: 0.1}}
        data: {{dataset: reverse, n_train: 200, max_tokens: 200}}
        training: {{optimizer: adam, lr: 0.01, max_steps: {MAX_STEPS}, eval_every_steps: {EVAL_EVERY},
                   log_every_steps: 100, seed: 0}}
        decoding: {{method: greedy, batch_size: 256, valid_bleu_sentences: 0}}
        """)


def _train(config: Path, run: Path, *, resume: bool, kill_at: int | None = None, count: Path | None = None,
           timer: float | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """Run `enc2dec train`; kill_at: die at that fault point; timer: SIGKILL it `timer` seconds after it has
    written its first checkpoint (so that the kill falls in training, not in the start-up)."""
    cmd = [sys.executable, "-m", "enc2dec.cli", "train", str(config), "--out", str(run), "--quiet"]
    if resume:
        cmd += ["--resume", str(run)]  # continues from run/last
    fault_env = (files.FAULT_KILL_ENV, files.FAULT_COUNT_ENV, files.FAULT_MATCH_ENV)
    env = {k: v for k, v in os.environ.items() if k not in fault_env}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    if kill_at is not None:
        env[files.FAULT_KILL_ENV] = str(kill_at)
    if count is not None:
        env[files.FAULT_COUNT_ENV] = str(count)
    if kill_at is not None or count is not None:
        env[files.FAULT_MATCH_ENV] = LAST_SAVES
    start_step = _manifest_step(run)
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if timer is not None:
        while process.poll() is None and _manifest_step(run) == start_step:
            time.sleep(0.005)
        time.sleep(timer)
        process.kill()  # SIGKILL; nothing if it has ended
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)


def _manifest_step(run: Path) -> int | None:
    """The step of last/ as its manifest says, None if none can be read."""
    try:
        return checkpoint.read_manifest(run / "last")["step"]
    except (OSError, ValueError, TypeError):
        return None


@dataclass
class Save:
    """The fault points of one save of a folder: their numbers in the reference run, what each did, and where."""

    name: str
    points: list[tuple[int, str, str]] = field(default_factory=list)

    def swap_index(self, target: Path) -> int:
        """The first point at which the new folder is in place (the exchange, or the rename onto the target)."""
        return next(i for i, (_, _, path) in enumerate(self.points) if path == str(target))


def _saves(log: list[tuple[int, str, str]]) -> list[Save]:
    """Group the reference run's fault points into saves: a save ends with the removal of the old folder, or with
    a rename onto its target not followed by a removal (a first save, a single file)."""
    saves: list[Save] = []
    current: Save | None = None
    for i, (k, what, path) in enumerate(log):
        p = Path(path)
        leftover = files._LEFTOVER.match(p.parent.name) or files._LEFTOVER.match(p.name)
        name = leftover["name"] if leftover else p.name
        if current is None:
            current = Save(name)
        current.points.append((k, what, path))
        following = log[i + 1][1] if i + 1 < len(log) else None
        if what == "remove" or (what in ("rename", "exchange") and not leftover and following != "remove"):
            saves.append(current)
            current = None
    return saves


@dataclass
class Reference:
    run: Path
    config: Path
    last_saves: list[Save]  # last_saves[j]: the save of last/ at step (j + 1) * EVAL_EVERY


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Reference:
    root = tmp_path_factory.mktemp("reference")
    config = root / "config.yaml"
    config.write_text(config_text())
    count = root / "faults.tsv"
    done = _train(config, root / "run", resume=False, count=count)
    assert done.returncode == 0, done.stderr
    log = [(int(k), what, path) for k, what, path in (line.split("\t") for line in count.read_text().splitlines())]
    last_saves = [s for s in _saves(log) if s.name == "last"]
    assert len(last_saves) >= MAX_STEPS // EVAL_EVERY, [s.name for s in _saves(log)]
    assert [what for _, what, _ in last_saves[1].points[-3:]] in (
        ["fsync", "exchange", "remove"],
        ["rename", "rename", "remove"],
    )
    return Reference(root / "run", config, last_saves)


def _step(run: Path) -> int:
    return int(checkpoint.check_checkpoint(run / "last", STATE_KEYS)["step"])


def _kill_at_point(ref: Reference, run: Path, point: int) -> str:
    """Start (or resume) the run so that it is killed at `point` of its next save of last/; check what it left."""
    if (run / "last").is_dir():
        before = _step(run)
        save = ref.last_saves[before // EVAL_EVERY]  # the next after last_saves[before // EVAL_EVERY - 1]
        kill_at = point + 1
    else:  # a fresh run: the first save of last/ has no old folder to swap with; aim at the second
        before, save = None, ref.last_saves[1]
        kill_at = len(ref.last_saves[0].points) + point + 1
    case = f"kill at point {point} ({save.points[point][1]} {Path(save.points[point][2]).name}) of the save of step "
    case += f"{(ref.last_saves.index(save) + 1) * EVAL_EVERY}, resumed from step {before}"
    done = _train(ref.config, run, resume=before is not None, kill_at=kill_at)
    assert done.returncode == -signal.SIGKILL, f"{case}: exit {done.returncode}: {done.stderr[-2000:]}"
    new_step = (ref.last_saves.index(save) + 1) * EVAL_EVERY
    expected = new_step if point >= save.swap_index(ref.run / "last") else before or EVAL_EVERY
    assert _step(run) == expected, f"{case}: last/ holds step {_step(run)}, expected {expected}"
    return case


def _chain(ref: Reference, run: Path, points: list[int], timers: list[float]) -> list[str]:
    cases = [_kill_at_point(ref, run, point) for point in points]
    finished = False
    for delay in timers:
        done = _train(ref.config, run, resume=True, timer=delay)
        if done.returncode == 0:
            finished = True
            break
        assert done.returncode == -signal.SIGKILL, f"timer kill {delay:.2f} s after a save: {done.stderr[-2000:]}"
        cases.append(f"timer kill {delay:.2f} s after the first save, last/ at step {_step(run)}")
    if not finished:
        done = _train(ref.config, run, resume=True)
        assert done.returncode == 0, f"the final resume after {cases}: {done.stderr[-2000:]}"
    return cases


def _assert_same_run(run: Path, ref: Path, cases: list[str]) -> None:
    for name in (checkpoint.MODEL_FILE, checkpoint.OPTIMIZER_FILE):
        got, want = checkpoint.load_arrays(run / "last" / name), checkpoint.load_arrays(ref / "last" / name)
        assert sorted(got) == sorted(want), name
        for key in want:
            assert np.array_equal(got[key], want[key]), f"{name}: {key} differs after {cases}"
    assert not list(run.glob(".last.*")), "leftovers of killed saves of last/ not removed"


def test_killed_at_every_point_of_a_save_then_resumed_ends_bit_identical(reference, tmp_path):
    n_points = len(reference.last_saves[1].points)
    delays = list(np.random.default_rng(0).uniform(0.0, 0.3, TIMER_KILLS))  # after a process's first save
    chains = [(list(range(0, n_points, 2)), delays[:1]), (list(range(1, n_points, 2)), delays[1:])]
    with ThreadPoolExecutor(len(chains)) as pool:
        futures = [
            pool.submit(_chain, reference, tmp_path / f"chain{i}", points, timers)
            for i, (points, timers) in enumerate(chains)
        ]
        results = [f.result() for f in futures]
    for i, cases in enumerate(results):
        assert len(cases) >= len(chains[i][0])
        _assert_same_run(tmp_path / f"chain{i}", reference.run, cases)
