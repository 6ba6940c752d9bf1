"""Sharded use verbs with real processes (mpiexec -n 2): translate and encode write the same bytes as one process;
the sharding helpers of enc2dec.training.distributed."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from enc2dec import cli, run
from enc2dec.tasks import forecast
from enc2dec.training import distributed

from .test_data_parallel import CONFIGS, MPIEXEC, ROOT, _env

pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install -e '.[mpi]')")

TRANSLATION = {
    "task": "translation",
    "model": {"type": "transformer", "model_size": 8, "n_heads": 2, "ff_size": 8, "n_encoder_layers": 1,
              "n_decoder_layers": 1, "positions": "learned", "max_positions": 40},
    "data": {"dataset": "dates", "n_train": 300, "max_tokens": 800},
    "training": {"max_steps": 4, "eval_every_steps": 4, "lr": 0.01},
    "decoding": {"beam_size": 3, "valid_bleu_sentences": 10, "batch_size": 3},  # several batches per rank
}  # fmt: skip
DATES = ["3 March 1999", "14.07.89", "Tuesday 7 November 2023", "2001-02-03", "5/6/77", "June 1, 2020", "1 May 84"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    translator = run.train(run.config_from_dict(TRANSLATION), root / "t").out_dir
    ae = CONFIGS["autoencoder"]
    autoencoder = run.train(run.config_from_dict({**ae, "training": {**ae["training"], "max_steps": 4}}), root / "a")
    lines = [DATES[(7 * i) % len(DATES)][: 4 + i % 9] for i in range(19)]
    lines[4] = ""
    lines[11] = "Tuesday 7 November 2023 " * 4  # more tokens than the 40 positions the model reads
    (root / "src.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "prefix.txt").write_text("".join(f"{'19'[: i % 3]}\n" for i in range(19)), encoding="utf-8")
    rows = np.random.default_rng(0).random((2 * distributed.ROWS_PER_CALL + 50, 64), dtype=np.float32)  # 3 calls
    np.save(root / "rows.npy", rows)
    return SimpleNamespace(root=root, translator=str(translator), autoencoder=str(autoencoder.out_dir))


@pytest.fixture(scope="module")
def forecaster(tmp_path_factory):
    """A forecaster whose test split has more origins than one call forecasts, so both ranks share them."""
    root = tmp_path_factory.mktemp("forecaster")
    t = np.arange(1200)
    values = 10 + 2 * np.sin(2 * np.pi * t / 12) + 0.2 * np.random.default_rng(0).standard_normal(len(t))
    (root / "series.csv").write_text("value\n" + "".join(f"{v:.4f}\n" for v in values), encoding="utf-8")
    sets = [f"data.path={root / 'series.csv'}", "data.dataset=csv", "data.column=value", "data.period=12",
            "data.input_length=24", "data.horizon=4", "model.hidden_size=8", "model.embed_size=4",
            "model.attention=none", "training.max_steps=2", "training.max_minutes=null", "statistical.model=none"]  # fmt: skip
    cfg = run.load_config(ROOT / "configs/forecast_co2.yaml", sets)
    assert cfg.data.test_fraction * len(t) > forecast.ORIGINS_PER_CALL  # several calls: the ranks share them
    return str(run.train(cfg, root / "run").out_dir)


def _mpi(n: int, argv: list[str]) -> subprocess.CompletedProcess:
    command = [MPIEXEC, "-n", str(n), sys.executable, "-m", "enc2dec.cli", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=_env(), cwd=ROOT)


@pytest.mark.parametrize(
    "options",
    [["--method", "greedy"], ["--method", "beam", "--n-best", "2"], ["--method", "sample", "--n-best", "2"],
     ["--method", "beam", "--prefix", "prefix.txt"]],
)  # fmt: skip
def test_sharded_translation_writes_the_bytes_of_one_process(models, tmp_path, capsys, options):
    options = [str(models.root / o) if o.endswith(".txt") else o for o in options]
    argv = ["translate", "--model", models.translator, "--input", str(models.root / "src.txt"), *options]
    assert cli.main([*argv, "--output", str(tmp_path / "one.txt")]) == 2  # the over-long line
    one_err = capsys.readouterr().err
    done = _mpi(2, [*argv, "--output", str(tmp_path / "two.txt")])
    assert done.returncode == 2, done.stderr[-3000:]
    assert (tmp_path / "two.txt").read_bytes() == (tmp_path / "one.txt").read_bytes()
    assert done.stderr == one_err  # one report per over-long line, from rank 0 alone
    assert "src.txt: line 12: source has 96 tokens, the model reads at most 40" in one_err
    n_best = 2 if "--n-best" in options else 1
    lines = (tmp_path / "one.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 19 * n_best
    assert lines[4 * n_best] == lines[11 * n_best] == ("" if n_best == 1 else "-inf\t")  # the empty, the over-long


def test_sharded_evaluation_prints_the_scores_of_one_process(models, tmp_path, capsys):
    argv = ["evaluate", "--model", models.translator, "--split", "valid"]
    assert cli.main([*argv, "--out", str(tmp_path / "one")]) == 0
    one_out = capsys.readouterr().out
    done = _mpi(2, [*argv, "--out", str(tmp_path / "two")])
    assert done.returncode == 0, done.stderr[-3000:]

    def shown(out: str) -> list[str]:  # the perplexity sums its losses in another order: compared below
        return [line for line in out.splitlines() if not line.startswith(("valid_ppl", "scores:"))]

    assert shown(done.stdout) == shown(one_out)
    one, two = (json.loads((tmp_path / d / "scores_valid.json").read_text()) for d in ("one", "two"))
    assert two.pop("valid_ppl") == pytest.approx(one.pop("valid_ppl"), rel=1e-9) and two == one  # BLEU identical


def test_training_on_two_processes_shares_the_validation_bleu(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(TRANSLATION))
    done = _mpi(2, ["train", str(tmp_path / "c.json"), "--out", str(tmp_path / "r"), "--quiet"])
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "valid_bleu" in r] == [4]  # both ranks decoded; rank 0 scored


def test_sharded_rolling_origin_evaluation_scores_as_one_process(forecaster, tmp_path, capsys):
    argv = ["evaluate", "--model", forecaster, "--split", "test"]
    assert cli.main([*argv, "--out", str(tmp_path / "one")]) == 0
    one_out = capsys.readouterr().out
    done = _mpi(2, [*argv, "--out", str(tmp_path / "two")])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.replace("/two/", "/one/") == one_out
    one, two = ((tmp_path / d / "scores_test.json").read_bytes() for d in ("one", "two"))
    assert two == one


def test_sharded_encoding_writes_the_bytes_of_one_process(models, tmp_path):
    argv = ["encode", "--model", models.autoencoder, "--input", str(models.root / "rows.npy")]
    assert cli.main([*argv, "--output", str(tmp_path / "one.npy")]) == 0
    done = _mpi(2, [*argv, "--output", str(tmp_path / "two.npy")])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote") == 1  # rank 0 alone writes
    assert (tmp_path / "two.npy").read_bytes() == (tmp_path / "one.npy").read_bytes()


def test_a_user_error_under_mpiexec_is_one_line_and_exit_status_2(models, tmp_path):
    done = _mpi(2, ["translate", "--model", models.translator, "--input", str(tmp_path / "missing.txt")])
    assert done.returncode == 2
    assert done.stderr.count("enc2dec translate: error:") == 1 and "missing.txt" in done.stderr


def test_blocks_are_dealt_whole_heaviest_first_to_the_least_loaded_rank():
    assert distributed.contiguous_blocks(5, 2) == [[0, 1, 2], [3, 4]]
    assert distributed.contiguous_blocks(1, 3) == [[0], [], []]
    weights = [9, 9, 5, 5, 4, 4, 1]  # after three blocks 18 and 18: a tie goes to rank 0
    assert distributed.deal_blocks([[0, 1], [2, 3], [4, 5], [6]], 2, weights) == [[0, 1, 6], [2, 3, 4, 5]]


def test_shard_map_in_one_process_is_fn_and_checks_its_blocks():
    one = distributed.SingleProcess()
    assert distributed.shard_map(one, [1, 2, 3], lambda xs: [x * 10 for x in xs]) == [10, 20, 30]
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(distributed.shard_rows(one, rows, lambda r: r * 2), rows * 2)
    calls = []
    distributed.shard_rows(one, rows, lambda r: calls.append(len(r)) or r, chunk=2)
    assert calls == [2, 1]
    two = SimpleNamespace(size=2, rank=0)
    with pytest.raises(ValueError, match="blocks must hold each of the 3 item indices once"):
        distributed.shard_map(two, [1, 2, 3], lambda xs: xs, blocks=[[0, 1], [1, 2]])


def test_each_rank_takes_its_share_of_the_cores(monkeypatch):
    for name in ("ENC2DEC_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PMI_SIZE",
                 "MPI_LOCALNRANKS", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert distributed.threads_per_rank() is None  # one process: as configured
    monkeypatch.setenv("PMI_SIZE", "8")
    monkeypatch.setenv("MPI_LOCALNRANKS", "4")  # 8 processes, 4 of them on this machine
    assert distributed.threads_per_rank() == 4
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {3, 4}, raising=False)  # bound to two cores
    assert distributed.threads_per_rank() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
    assert distributed.threads_per_rank() is None
