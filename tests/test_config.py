from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

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
    with pytest.raises(ValueError, match=r"--set 'training.lr': expected KEY=VALUE"):
        config.apply_overrides({}, ["training.lr"])
    with pytest.raises(ValueError, match=r"<config>: model needs model.input_size"):
        config.from_dict(RunConfig, {"model": {}})
    with pytest.raises(ValueError, match=r"TrainConfig.schedule must be one of"):
        config.from_dict(RunConfig, {"model": {"input_size": 2}, "training": {"schedule": "x", "max_steps": 1}})
    with pytest.raises(FileNotFoundError, match="no such config file"):
        config.load(tmp_path / "absent.yaml", RunConfig)


TRAIN_CASES = [  # TrainConfig keyword arguments (max_steps=10 added) -> error type, message pattern
    (dict(lr=0), ValueError, r"TrainConfig.lr must be > 0, got 0"),
    (dict(lr=float("nan")), ValueError, r"TrainConfig.lr must be > 0, got nan"),
    (dict(lr="1e-3"), TypeError, r"TrainConfig.lr must be a number > 0, got str '1e-3'"),
    (dict(momentum=1.0), ValueError, r"TrainConfig.momentum must be in \[0, 1\), got 1.0"),
    (dict(weight_decay=-1e-4), ValueError, r"TrainConfig.weight_decay must be >= 0, got -0.0001"),
    (dict(betas=(0.9, 1.0)), ValueError, r"TrainConfig.betas\[1\] must be in \[0, 1\), got 1.0"),
    (dict(betas=(-0.1, 0.9)), ValueError, r"TrainConfig.betas\[0\] must be in \[0, 1\), got -0.1"),
    (dict(warmup_steps=-1), ValueError, r"TrainConfig.warmup_steps must be >= 0 \(0: no warmup\), got -1"),
    (dict(decay_start_epochs=-1.0), ValueError, r"TrainConfig.decay_start_epochs must be >= 0, got -1.0"),
    (dict(decay_every_epochs=0.0), ValueError, r"TrainConfig.decay_every_epochs must be > 0, got 0.0"),
    (dict(min_lr=-1.0), ValueError, r"TrainConfig.min_lr must be >= 0, got -1.0"),
    (dict(clip_norm=0.0), ValueError, r"TrainConfig.clip_norm must be null or > 0, got 0.0"),
    (dict(clip_norm=-1.0), ValueError, r"TrainConfig.clip_norm must be null or > 0, got -1.0"),
    (dict(max_steps=0), ValueError, r"TrainConfig.max_steps must be null or >= 1, got 0"),
    (dict(max_epochs=-1), ValueError, r"TrainConfig.max_epochs must be null or >= 1, got -1"),
    (dict(max_minutes=0.0), ValueError, r"TrainConfig.max_minutes must be null or > 0, got 0.0"),
    (dict(eval_every_steps=0), ValueError, r"TrainConfig.eval_every_steps must be null or >= 1 .*, got 0"),
    (dict(patience=-1), ValueError, r"TrainConfig.patience must be null or >= 0 \(0: stop at the first evaluation"),
    (dict(log_every_steps=0), ValueError, r"TrainConfig.log_every_steps must be >= 1, got 0"),
    (dict(keep_checkpoints=-1), ValueError, r"TrainConfig.keep_checkpoints must be >= 0 \(0: none\), got -1"),
    (dict(seed=-1), ValueError, r"TrainConfig.seed must be >= 0, got -1"),
    (dict(max_steps=True), TypeError, r"TrainConfig.max_steps must be null or an int >= 1, got bool True"),
    (dict(progress=1), TypeError, r"TrainConfig.progress must be true or false, got int 1"),
    (dict(best_metric=""), ValueError, r"TrainConfig.best_metric must be a metric name"),
    (dict(optimizer="sgd", nesterov=True), ValueError, r"TrainConfig: nesterov needs momentum > 0"),
]


@pytest.mark.parametrize("kwargs, error, pattern", TRAIN_CASES, ids=[str(c[0]) for c in TRAIN_CASES])
def test_train_config_ranges(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        TrainConfig(**{"max_steps": 10, **kwargs})


def test_train_config_edges_are_accepted():
    TrainConfig(max_steps=1, patience=0, clip_norm=None, eval_every_steps=1, log_every_steps=1, warmup_steps=0)
    TrainConfig(max_minutes=0.5, lr=1e-8, betas=(0.0, 0.0), momentum=0.0, keep_checkpoints=0)


def write(tmp_path, text: str | bytes, name: str = "c.yaml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_scientific_notation_is_a_float_in_files_and_overrides(tmp_path):
    path = write(
        tmp_path,
        "model:\n  input_size: 3\ntraining:\n  max_steps: 1\n  lr: 1e-3\n  weight_decay: 5E+2\n  min_lr: .5e-4\n",
    )
    cfg = config.load(path, RunConfig)
    assert (cfg.training.lr, cfg.training.weight_decay, cfg.training.min_lr) == (1e-3, 500.0, 0.5e-4)
    assert config.load(path, RunConfig, ["training.lr=5e-4"]).training.lr == 5e-4
    assert config.read_yaml(write(tmp_path, "a: '1e-3'\nb: x1e3\nc: 1e3x\n")) == {"a": "1e-3", "b": "x1e3", "c": "1e3x"}
    import yaml

    assert yaml.safe_load("lr: 1e-3") == {"lr": "1e-3"}  # the global loader is left alone


def test_read_yaml_errors_name_file_and_line(tmp_path):
    with pytest.raises(
        ValueError, match=r"c.yaml: line 4, column 3: invalid YAML: duplicate key 'lr' \(first at line 2\)"
    ):
        config.read_yaml(write(tmp_path, "training:\n  lr: 1\n  max_steps: 3\n  lr: 2\n"))
    with pytest.raises(ValueError, match=r"c.yaml: line 2: invalid UTF-8 \(invalid start byte at byte 8\)"):
        config.read_yaml(write(tmp_path, b"a: 1\nb: \xff\n"))
    with pytest.raises(ValueError, match=r"c.yaml: line 2, column 1: invalid YAML: .*node content"):
        config.read_yaml(write(tmp_path, "a: [1,\n"))
    with pytest.raises(ValueError, match=r"c.yaml: line 2: invalid YAML: (special|control) characters are not allowed"):
        config.read_yaml(write(tmp_path, "a: 1\nb: \x00\n"))
    with pytest.raises(ValueError, match=r"c.yaml: invalid YAML: nested too deeply"):
        config.read_yaml(write(tmp_path, "[" * 800 + "]" * 800))  # (libyaml's parser crashes the process)
    with pytest.raises(ValueError, match=r"c.yaml: line 1, column 4: invalid YAML: could not determine a constructor"):
        config.read_yaml(write(tmp_path, "a: !!python/object:os.system x\n"))
    with pytest.raises(ValueError, match=r"c.yaml: line 2, column 4: invalid YAML: cannot read 'maybe' as !!bool"):
        config.read_yaml(write(tmp_path, "a: 1\nb: !!bool maybe\n"))  # PyYAML: a KeyError
    with pytest.raises(ValueError, match=r"c.yaml: line 1, column 4: invalid YAML: cannot read '' as !!int"):
        config.read_yaml(write(tmp_path, "a: !!int ''\n"))  # PyYAML: an IndexError
    with pytest.raises(ValueError, match=r"c.yaml: line 1, column 4: invalid YAML: cannot read '9999.*' as !!int"):
        config.read_yaml(write(tmp_path, "a: " + "9" * 5000 + "\n"))  # more digits than int() takes
    with pytest.raises(FileNotFoundError, match=r"absent.yaml: no such config file"):
        config.read_yaml(tmp_path / "absent.yaml")
    assert config.read_yaml(write(tmp_path, "\ufeffa: 1\n")) == {"a": 1}  # a BOM is dropped
    assert config.read_yaml(write(tmp_path, "")) == {}
    assert config.read_yaml(write(tmp_path, "b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n")) == {"b": {"x": 1}, "c": {"x": 2}}


def test_every_override_error_is_one_line_naming_the_override():
    cases = {
        "training.lr": r"--set 'training.lr': expected KEY=VALUE such as training.lr=0.5",
        "training.lr=[1,": r"--set 'training.lr=\[1,': line \d+, column \d+: invalid value \(YAML\): .*node content",
        "=3": r"--set '=3': empty key in ''",
        "training..lr=1": r"--set 'training..lr=1': empty key in 'training..lr'",
        "model.input_size.x=1": r"--set 'model.input_size.x=1': model.input_size is 3, not a mapping with a key 'x'",
        "x={a: 1, a: 2}": r"--set 'x={a: 1, a: 2}': line 1, column 8: invalid value \(YAML\): duplicate key 'a'",
    }
    for item, pattern in cases.items():
        with pytest.raises(ValueError, match=pattern) as err:
            config.apply_overrides({"model": {"input_size": 3}}, [item])
        assert "\n" not in str(err.value)
    data = {"model": {"input_size": 3}}
    assert config.apply_overrides(data, ["training.lr=1e-3", "model.hidden_sizes=[4, 2]"]) == {
        "model": {"input_size": 3, "hidden_sizes": [4, 2]},
        "training": {"lr": 1e-3},
    }
    assert data == {"model": {"input_size": 3}}  # not changed in place


def test_override_errors_after_merging_name_file_and_override_keys(tmp_path):
    path = write(tmp_path, "model:\n  input_size: 3\n")
    with pytest.raises(ValueError, match=r"c.yaml with --set training.lr: TrainConfig.lr must be > 0, got -0.001"):
        config.load(path, RunConfig, ["training.lr=-1e-3"])
    with pytest.raises(TypeError, match=r"c.yaml: RunConfig must be a mapping of RunConfig fields, got \[1, 2\]"):
        config.load(write(tmp_path, "[1, 2]\n"), RunConfig, ["training.lr=1"])


def test_bools_must_be_bools_and_ints_ints(tmp_path):
    cases = {
        "model:\n  input_size: true\n": r"c.yaml: model.input_size must be int, got bool True",
        "model:\n  input_size: 3\ntraining:\n  nesterov: 1\n": r"c.yaml: training.nesterov must be bool, got int 1",
        "model:\n  input_size: 3\ntraining:\n  max_steps: yes\n": r"c.yaml: training.max_steps must be int, got bool True",
        "model:\n  input_size: 3.0\n": r"c.yaml: model.input_size must be int, got float 3.0",
        "model:\n  input_size: 3\ntraining:\n  lr: 1"
        + "0" * 400
        + "\n": r"training.lr must be a float, got an int too",
    }
    for text, pattern in cases.items():
        with pytest.raises((TypeError, ValueError), match=pattern):
            config.load(write(tmp_path, text), RunConfig)


def test_typed_mappings_check_keys_and_values():
    @dataclass(frozen=True)
    class Files:
        files: dict[str, str] = field(default_factory=dict)

    assert config.from_dict(Files, {"files": {"a": "x"}}).files == {"a": "x"}
    with pytest.raises(TypeError, match=r"<config>: files.a must be str, got int 3"):
        config.from_dict(Files, {"files": {"a": 3}})
    with pytest.raises(TypeError, match=r"<config>: files key must be str, got int 1"):
        config.from_dict(Files, {"files": {1: "x"}})


def dense_only() -> dict[str, type]:
    return {"dense": DenseConfig}


@dataclass(frozen=True)
class ChoiceRun:
    model: Annotated[Any, config.Choice(dense_only, "model type")]


def test_choice_type_that_is_not_a_name_is_refused():
    assert config.from_dict(ChoiceRun, {"model": {"type": "dense", "input_size": 2}}).model == DenseConfig(input_size=2)
    with pytest.raises(ValueError, match=r"<config>: model.type must be one of \['dense'\] \(model type\), got \[1\]"):
        config.from_dict(ChoiceRun, {"model": {"type": [1]}})
