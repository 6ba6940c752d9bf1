"""Numbered checkpoints (TrainConfig.keep_checkpoints), checkpoint averaging and `enc2dec average`."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.cli import main
from enc2dec.data.arrays import ArrayBatcher
from enc2dec.layers import Linear, Sequential, Tanh
from enc2dec.models.dense import EncoderDecoder
from enc2dec.training import TrainConfig, Trainer, checkpoint


def _model(seed: int = 0) -> EncoderDecoder:
    rng = np.random.default_rng(seed)
    return EncoderDecoder(Sequential(Linear(4, 3, rng=rng), Tanh()), Sequential(Linear(3, 4, rng=rng)))


def _run(tmp_path, keep: int):
    x = np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32)
    config = TrainConfig(lr=1e-2, max_steps=12, eval_every_steps=3, keep_checkpoints=keep)
    Trainer(_model(), config, out_dir=tmp_path, run_config={"model": {}}).fit(ArrayBatcher(x, x, batch_size=5))


def test_trainer_keeps_the_last_n_numbered_checkpoints(tmp_path):
    _run(tmp_path, keep=2)
    kept = checkpoint.numbered_checkpoints(tmp_path)
    assert [p.name for p in kept] == ["ckpt-9", "ckpt-12"]
    assert not (kept[0] / checkpoint.OPTIMIZER_FILE).exists() and (kept[0] / checkpoint.CONFIG_FILE).is_file()


def test_no_numbered_checkpoints_by_default(tmp_path):
    _run(tmp_path, keep=0)
    assert checkpoint.numbered_checkpoints(tmp_path) == [] and (tmp_path / "last").is_dir()


def test_average_is_the_elementwise_mean_and_loads(tmp_path):
    _run(tmp_path, keep=3)
    dirs = checkpoint.numbered_checkpoints(tmp_path)
    out = checkpoint.average_checkpoints(dirs, tmp_path / "avg")
    arrays = [checkpoint.load_arrays(d / checkpoint.MODEL_FILE) for d in dirs]
    averaged = checkpoint.load_arrays(out / checkpoint.MODEL_FILE)
    for name, value in averaged.items():
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, np.mean([a[name] for a in arrays], axis=0), rtol=1e-6)
    model = _model(seed=5)
    checkpoint.load_weights(out, model)  # a complete model directory
    assert (out / checkpoint.CONFIG_FILE).is_file()


def test_average_errors(tmp_path):
    _run(tmp_path, keep=2)
    dirs = checkpoint.numbered_checkpoints(tmp_path)
    with pytest.raises(ValueError, match="no checkpoint directories given"):
        checkpoint.average_checkpoints([], tmp_path / "avg")
    with pytest.raises(ValueError, match="is one of the checkpoints averaged"):
        checkpoint.average_checkpoints(dirs, dirs[0])
    checkpoint.save_arrays(tmp_path / "odd" / checkpoint.MODEL_FILE, {"x": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match="has other tensors than"):
        checkpoint.average_checkpoints([dirs[0], tmp_path / "odd"], tmp_path / "avg")


def test_cli_average_last_n(tmp_path, capsys):
    _run(tmp_path, keep=3)
    assert main(["average", "--last", "2", "--model", str(tmp_path), "--out", str(tmp_path / "avg")]) == 0
    assert "averaged 2 checkpoints" in capsys.readouterr().out
    assert (tmp_path / "avg" / checkpoint.MODEL_FILE).is_file()
    assert main(["average", "--last", "5", "--model", str(tmp_path), "--out", str(tmp_path / "avg2")]) == 2
    assert "--last 5 asked, 3 ckpt-<step> folders found" in capsys.readouterr().err
    assert main(["average", "--last", "0", "--model", str(tmp_path), "--out", str(tmp_path / "avg3")]) == 2
    assert "--last must be >= 1, got 0" in capsys.readouterr().err
