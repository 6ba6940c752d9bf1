"""Checkpoints: a directory of model.safetensors, optimizer.safetensors, config.yaml, trainer_state.json and any
model files (vocabularies). Every file is written to a temporary name, then os.replace'd; nothing is pickled.
trainer_state.json is written last, so a directory holding it is complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.nn.module import Module

MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
CONFIG_FILE = "config.yaml"
STATE_FILE = "trainer_state.json"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_path), then move tmp_path onto path: readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    arrays = {k: np.array(v, order="C", copy=None) for k, v in arrays.items()}  # keeps 0-d shapes
    return atomic_write(path, lambda tmp: save_file(arrays, str(tmp)))


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        raise ValueError(f"{path}: not a valid safetensors file ({err})") from err


def save_json(path: str | Path, obj: Any) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8"))


def load_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err


def save_yaml(path: str | Path, obj: Any) -> Path:
    import yaml

    return atomic_write(path, lambda tmp: tmp.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8"))


def load_yaml(path: str | Path) -> Any:
    import yaml

    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: invalid YAML ({err})") from err


def load_weights(directory: str | Path, model: Module) -> None:
    """Load model.safetensors into `model`; a missing, unexpected or misshaped tensor is an error naming the file."""
    path = Path(directory) / MODEL_FILE
    try:
        model.load_state_dict(load_arrays(path))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def save_checkpoint(
    directory: str | Path,
    model: Module,
    *,
    optimizer: Any = None,
    config: dict[str, Any] | None = None,
    trainer_state: dict[str, Any] | None = None,
    extra_files: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write a checkpoint directory. extra_files: file name -> writer(tmp_path), e.g. a vocabulary's save."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_arrays(directory / MODEL_FILE, model.state_dict())
    if optimizer is not None:
        save_arrays(directory / OPTIMIZER_FILE, optimizer.state_dict())
    if config is not None:
        save_yaml(directory / CONFIG_FILE, config)
    for name, write in (extra_files or {}).items():
        atomic_write(directory / name, write)
    save_json(directory / STATE_FILE, trainer_state or {})
    return directory
