"""Run folders and the keep-best rule (enc2dec.run), for any task: here the small digits autoencoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from enc2dec import run
from enc2dec.training import checkpoint


def _train(cfg, out, **options):
    """run.train without pictures (matplotlib costs seconds a run; the task tests check the pictures)."""
    return run.train(cfg, out, pictures=False, **options)


SMALL = {
    "task": "autoencoder",
    "model": {"type": "autoencoder", "input_size": 64, "context_size": 2, "hidden_sizes": [16]},
    "data": {"dataset": "digits", "n_train": 200, "n_valid": 50, "n_test": 50, "batch_size": 50},
    "training": {"max_steps": 8, "eval_every_steps": 4, "lr": 0.01, "best_metric": "valid_mse"},
}


def _cfg(**training):
    return run.config_from_dict({**SMALL, "training": {**SMALL["training"], **training}})


def test_best_is_the_checkpoint_with_the_best_validation_metric(tmp_path):
    result = _train(_cfg(), tmp_path / "r")
    evals = result.history.evals
    assert [e["step"] for e in evals] == [4, 8]
    best = min(evals, key=lambda e: e["valid_mse"])
    assert result.best == best
    saved = checkpoint.load_arrays(tmp_path / "r" / "best" / checkpoint.MODEL_FILE)
    for name, value in result.model.state_dict().items():
        np.testing.assert_array_equal(saved[name], value)
    assert checkpoint.load_json(tmp_path / "r" / "best" / checkpoint.STATE_FILE)["step"] == best["step"]


def test_a_budget_ending_before_the_first_evaluation_still_gives_a_best(tmp_path):
    result = _train(_cfg(max_steps=3, eval_every_steps=100), tmp_path / "r")
    assert [e["step"] for e in result.history.evals] == [3]
    assert run.load(tmp_path / "r").directory == tmp_path / "r" / "best"


def test_a_run_folder_is_not_trained_into_twice(tmp_path):
    _train(_cfg(), tmp_path / "r")
    with pytest.raises(
        ValueError, match=r"holds a run already: continue it with --resume .* or replace it with --overwrite"
    ):
        _train(_cfg(), tmp_path / "r")
    (tmp_path / "r" / "ckpt-4").mkdir()
    _train(_cfg(max_steps=4), tmp_path / "r", overwrite=True)
    assert not (tmp_path / "r" / "ckpt-4").exists()
    lines = (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [4]  # the old run's lines are gone


def test_out_must_be_a_folder_and_resume_needs_a_run(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="--out .*file: exists and is not a folder"):
        _train(_cfg(), tmp_path / "file")
    with pytest.raises(ValueError, match="--resume .*: no run to continue"):
        _train(_cfg(), tmp_path / "empty", resume=True)


def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    whole = _train(_cfg(max_steps=12), tmp_path / "whole")
    _train(_cfg(max_steps=4), tmp_path / "part")
    resumed = _train(_cfg(max_steps=12), tmp_path / "part", resume=True)
    for name, value in whole.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value)
    lines = [json.loads(line) for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    whole_lines = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [r["step"] for r in whole_lines]  # each step logged once


@pytest.mark.filterwarnings("ignore:overflow")
def test_non_finite_training_stops_before_saving(tmp_path):
    _train(_cfg(max_steps=4), tmp_path / "r")
    before = (tmp_path / "r" / "last" / checkpoint.MODEL_FILE).read_bytes()
    with pytest.raises(FloatingPointError, match="not finite|is nan|is inf"):
        _train(_cfg(max_steps=40, eval_every_steps=1, lr=1e30, clip_norm=None), tmp_path / "r", resume=True)
    assert (tmp_path / "r" / "last" / checkpoint.MODEL_FILE).read_bytes() == before


def test_model_dir_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        run.model_dir(tmp_path)
    (tmp_path / "last").mkdir()
    with pytest.raises(FileNotFoundError, match="a run folder without best/"):
        run.model_dir(tmp_path)


def test_evaluate_takes_valid_or_test_only(tmp_path):
    _train(_cfg(max_steps=2), tmp_path / "r")
    with pytest.raises(ValueError, match="--split must be 'valid' or 'test', got 'train'"):
        run.evaluate(tmp_path / "r", "train")
    with pytest.raises(ValueError, match="ensembles .several models. are for translation models, .* autoencoder"):
        run.evaluate([tmp_path / "r", tmp_path / "r"], "valid")


def test_config_needs_a_known_task():
    with pytest.raises(ValueError, match=r"x.yaml: task must be one of \['translation', 'autoencoder'"):
        run.config_from_dict({**SMALL, "task": "translate"}, "x.yaml")
    with pytest.raises(ValueError, match="x.yaml: a run config must be a mapping"):
        run.config_from_dict([1, 2], "x.yaml")


def test_every_config_file_loads():
    from pathlib import Path

    for path in sorted(Path("configs").glob("*.yaml")):
        cfg = run.load_config(path)
        assert cfg.task in path.read_text()


def test_a_damaged_metrics_log_does_not_stop_a_resume(tmp_path):
    _train(_cfg(max_steps=4), tmp_path / "r")
    log = tmp_path / "r" / "metrics.jsonl"
    log.write_bytes(log.read_bytes() + b'\xff\xfe{"step": \n')  # damaged bytes and a torn line
    _train(_cfg(max_steps=8), tmp_path / "r", resume=True)
    steps = [json.loads(line)["step"] for line in log.read_text(encoding="utf-8").splitlines()]
    assert steps == [4, 8]
