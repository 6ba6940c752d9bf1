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
NUMBERED_PREFIX = "ckpt-"  # the Trainer's keep_checkpoints copies: out_dir/ckpt-<step>


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


def numbered_checkpoints(run_dir: str | Path) -> list[Path]:
    """The complete ckpt-<step> directories of a run, oldest (lowest step) first."""
    found = []
    for path in Path(run_dir).glob(f"{NUMBERED_PREFIX}*"):
        step = path.name[len(NUMBERED_PREFIX) :]
        if step.isdigit() and (path / STATE_FILE).is_file():
            found.append((int(step), path))
    return [path for _, path in sorted(found)]


def average_checkpoints(dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Write out_dir: the element-wise mean of the model weights of `dirs` (Vaswani et al. 2017 average the last
    5 or 20 checkpoints), with the other model files (config, vocabularies) of the last of them; no optimizer or
    trainer state, so it is for translation, not for resuming. Every checkpoint must hold the same tensors."""
    import shutil

    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise ValueError("average_checkpoints: no checkpoint directories given")
    out_dir = Path(out_dir)
    if out_dir.resolve() in {d.resolve() for d in dirs}:
        raise ValueError(f"average_checkpoints: out_dir {out_dir} is one of the checkpoints averaged")
    first = load_arrays(dirs[0] / MODEL_FILE)
    total = {k: v.astype(np.float64) for k, v in first.items()}
    for d in dirs[1:]:
        arrays = load_arrays(d / MODEL_FILE)
        if set(arrays) != set(first):
            diff = sorted(set(arrays) ^ set(first))
            raise ValueError(f"average_checkpoints: {d / MODEL_FILE} has other tensors than {dirs[0]}: {diff}")
        for k, v in arrays.items():
            if v.shape != first[k].shape:
                raise ValueError(
                    f"average_checkpoints: {d / MODEL_FILE}: {k} has shape {v.shape}, {dirs[0]} has {first[k].shape}"
                )
            total[k] += v
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in dirs[-1].iterdir():
        if path.is_file() and path.name not in (MODEL_FILE, OPTIMIZER_FILE, STATE_FILE):
            atomic_write(out_dir / path.name, lambda tmp, src=path: shutil.copyfile(src, tmp))
    save_arrays(out_dir / MODEL_FILE, {k: (v / len(dirs)).astype(first[k].dtype) for k, v in total.items()})
    save_json(out_dir / "averaged_from.json", [str(d) for d in dirs])
    return out_dir
