from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from enc2dec import config
from enc2dec.models.dense import DenseConfig
from enc2dec.training import TrainConfig


@dataclass(frozen=True)
class RunConfig:
    model: DenseConfig
    training: TrainConfig = field(default_factory=lambda: TrainConfig(max_epochs=1))


def test_load_with_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model:\n  input_size: 64\n  hidden_sizes: [32, 16]\ntraining:\n  lr: 1\n  max_epochs: 3\n")
    cfg = config.load(path, RunConfig, overrides=["training.lr=0.5", "model.context_size=4"])
    assert cfg.model == DenseConfig(input_size=64, context_size=4, hidden_sizes=(32, 16))
    assert cfg.training.lr == 0.5 and cfg.training.max_epochs == 3
    assert config.from_dict(RunConfig, config.to_dict(cfg)) == cfg


def test_unknown_key_names_file_key_and_close_match(tmp_path):
    path = tmp_path / "m30k.yaml"
    path.write_text("model:\n  input_size: 3\n  contxt_size: 2\n")
    with pytest.raises(
        ValueError, match=r"m30k.yaml: model.contxt_size is not a DenseConfig field \(did you mean context_size\?\)"
    ):
        config.load(path, RunConfig)


def test_wrong_types_and_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  input_size: three\n")
    with pytest.raises(TypeError, match=r"c.yaml: model.input_size must be int, got str 'three'"):
        config.load(path, RunConfig)
    with pytest.raises(ValueError, match=r"--set: expected KEY=VALUE"):
        config.apply_overrides({}, ["training.lr"])
    with pytest.raises(ValueError, match=r"<config>: model needs model.input_size"):
        config.from_dict(RunConfig, {"model": {}})
    with pytest.raises(ValueError, match=r"TrainConfig.schedule must be one of"):
        config.from_dict(RunConfig, {"model": {"input_size": 2}, "training": {"schedule": "x", "max_steps": 1}})
    with pytest.raises(FileNotFoundError, match="no such config file"):
        config.load(tmp_path / "absent.yaml", RunConfig)
