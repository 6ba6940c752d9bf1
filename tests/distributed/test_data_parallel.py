"""Data-parallel training with real processes (mpiexec -n 2): the same weights as one process on the same global
batches, within float32 rounding; N = 1 bit-identical; resume with another N; a killed rank ends the job."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from enc2dec.training import checkpoint

from .worker import train

pytest.importorskip("mpi4py", reason="the mpi extra is not installed (pip install -e '.[mpi]')")
MPIEXEC = str(Path(sys.executable).parent / "mpiexec") if (Path(sys.executable).parent / "mpiexec").is_file() else None
MPIEXEC = MPIEXEC or shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install -e '.[mpi]')")
WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).parents[2]

STEPS = {"max_steps": 20, "eval_every_steps": 10, "log_every_steps": 5}
CONFIGS = {
    "autoencoder": {
        "task": "autoencoder",
        "model": {"type": "autoencoder", "input_size": 64, "context_size": 2, "hidden_sizes": [16]},
        "data": {"dataset": "digits", "n_train": 201, "n_valid": 50, "n_test": 50, "batch_size": 50},  # 1 row last
        "training": {**STEPS, "lr": 0.01, "best_metric": "valid_mse"},
    },
    "lstm": {
        "task": "translation",
        "model": {"type": "seq2seq", "embed_size": 8, "hidden_size": 16, "n_layers": 1, "init_scale": None},
        "data": {"dataset": "dates", "n_train": 300, "max_tokens": 800},
        "training": {**STEPS, "lr": 0.01},
    },
    "transformer": {
        "task": "translation",
        "model": {"type": "transformer", "model_size": 8, "n_heads": 2, "ff_size": 8, "n_encoder_layers": 1,
                  "n_decoder_layers": 1, "dropout": 0.0},
        "data": {"dataset": "dates", "n_train": 300, "max_tokens": 800},
        "training": {**STEPS, "lr": 0.01},
    },
}  # fmt: skip


def _mpi_train(
    n: int, config: dict, run_dir: Path, *, resume: bool = False, float64: bool = False
) -> tuple[dict, list]:
    path = run_dir.with_suffix(".json")
    path.write_text(json.dumps(config))
    command = [MPIEXEC, "-n", str(n), sys.executable, str(WORKER), str(path), str(run_dir)]
    command += ["--resume"] * resume + ["--float64"] * float64
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    weights = checkpoint.load_arrays(run_dir / "weights.safetensors")
    return weights, checkpoint.load_json(run_dir / "train_loss.json")


def _env() -> dict[str, str]:
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _max_rel_diff(a: dict, b: dict) -> float:
    """max over tensors of max|a - b| / max|b|."""
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-30)) for k in a)


def test_one_process_under_mpiexec_is_bit_identical_to_plain_training(tmp_path):
    weights, losses = _mpi_train(1, CONFIGS["autoencoder"], tmp_path / "mpi")
    plain, plain_losses = train(CONFIGS["autoencoder"], tmp_path / "plain")
    assert losses == plain_losses
    for name, value in plain.items():
        np.testing.assert_array_equal(weights[name], value)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_two_processes_match_one_on_the_same_global_batches(tmp_path, name):
    weights, losses = _mpi_train(2, CONFIGS[name], tmp_path / "mpi")
    plain, plain_losses = train(CONFIGS[name], tmp_path / "plain")
    diff = _max_rel_diff(weights, plain)
    print(f"{name}: max relative weight difference, 2 processes vs 1, after 20 steps: {diff:.2e}")
    assert diff <= 1e-5
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-5)
    logged = [json.loads(line) for line in (tmp_path / "mpi" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == [5, 10, 10, 15, 20, 20]  # rank 0 alone logs: each line once


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_in_float64_two_processes_match_one_to_its_rounding(tmp_path, name):
    """The same comparison with float64 weights (reduced in float64): what is left is float64 rounding, through 20
    Adam steps."""
    weights, losses = _mpi_train(2, CONFIGS[name], tmp_path / "mpi", float64=True)
    plain, plain_losses = train(CONFIGS[name], tmp_path / "plain", float64=True)
    diff = _max_rel_diff(weights, plain)
    print(f"{name}, float64: max relative weight difference, 2 processes vs 1, after 20 steps: {diff:.2e}")
    assert all(w.dtype == np.float64 for w in weights.values()) and diff <= 1e-12
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-12)


def test_resume_with_another_number_of_processes(tmp_path):
    config = CONFIGS["lstm"]
    _mpi_train(2, {**config, "training": {**config["training"], "max_steps": 10}}, tmp_path / "run")
    resumed, _ = train(config, tmp_path / "run", resume=True)  # the last 10 steps on one process
    whole, _ = train(config, tmp_path / "whole")
    assert _max_rel_diff(resumed, whole) <= 1e-5


def _rank_pids(root_pid: int) -> dict[int, int]:
    """{MPI rank: pid} of the processes below root_pid (read from /proc: PMI_RANK in their environment)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    ranks, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            env = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in v)
        except OSError:
            continue
        if "PMI_RANK" in env and Path(f"/proc/{pid}/exe").resolve().name.startswith("python"):
            ranks[int(env["PMI_RANK"])] = pid
    return ranks


@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="needs /proc to find the ranks")
def test_a_killed_rank_ends_the_job_with_a_clear_error_and_no_torn_checkpoint(tmp_path):
    config = CONFIGS["autoencoder"]
    config = {**config, "training": {**config["training"], "max_steps": 100000, "eval_every_steps": 3}}
    (tmp_path / "c.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "enc2dec.cli", "train", str(tmp_path / "c.json"), "--out", str(tmp_path / "r"),
               "--quiet", "--workers", "2"]  # fmt: skip
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    deadline = time.monotonic() + 60
    while not (tmp_path / "r" / "last").is_dir() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere in the next saves
    ranks = _rank_pids(job.pid)
    assert sorted(ranks) == [0, 1], ranks
    os.kill(ranks[1], signal.SIGKILL)
    _, err = job.communicate(timeout=30)  # the whole job ends, rank 0 with it
    assert job.returncode == 2
    assert "enc2dec train: error: the 2 worker processes ended with exit status" in err
    assert "--resume" in err.splitlines()[-1]
    checkpoint.verify_checkpoint(tmp_path / "r" / "last")  # whole: the old or the new one
    assert checkpoint.load_json(tmp_path / "r" / "last" / checkpoint.STATE_FILE)["step"] % 3 == 0
