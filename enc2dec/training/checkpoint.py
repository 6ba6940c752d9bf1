"""Checkpoints: a folder of model.safetensors, optimizer.safetensors, config.yaml, trainer_state.json, any model
files (vocabularies) and manifest.json; nothing is pickled.

A checkpoint folder is replaced whole (`enc2dec.files.replace_dir`): built fresh under a temporary name, fsynced,
then swapped in, so a kill at any moment leaves the previous or the new complete folder. manifest.json, written
last, records the step and the size and SHA-256 of every other file: `check_checkpoint` (resume) refuses a folder
whose parts do not belong together, and `load_weights` a model file changed since its save. Non-finite weights
are neither saved nor loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec import files
from enc2dec.nn.module import Module

MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
CONFIG_FILE = "config.yaml"
STATE_FILE = "trainer_state.json"
MANIFEST_FILE = "manifest.json"
NUMBERED_PREFIX = "ckpt-"  # the Trainer's keep_checkpoints copies: out_dir/ckpt-<step>
_FORMAT, _VERSION = "enc2dec-checkpoint", 1


# -- single files: write_* into a path, save_* atomically ----------------------------------------------------------
def write_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save

    arrays = {k: np.array(v, order="C", copy=None) for k, v in arrays.items()}  # keeps 0-d shapes
    Path(path).write_bytes(save(arrays))  # bytes, then a plain write: disk full is an OSError, not a SafetensorError


def save_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    return files.atomic_write(path, lambda tmp: write_arrays(tmp, arrays))


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        raise ValueError(f"{path}: not a valid safetensors file ({err})") from err


def write_json(path: str | Path, obj: Any) -> None:
    Path(path).write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


def save_json(path: str | Path, obj: Any) -> Path:
    return files.atomic_write(path, lambda tmp: write_json(tmp, obj))


def load_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err


def write_yaml(path: str | Path, obj: Any) -> None:
    import yaml

    Path(path).write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")


def save_yaml(path: str | Path, obj: Any) -> Path:
    return files.atomic_write(path, lambda tmp: write_yaml(tmp, obj))


def load_yaml(path: str | Path) -> Any:
    """A checkpoint's config.yaml, read by the config reader's rules (duplicate keys, UTF-8, errors naming it)."""
    from enc2dec.config import read_yaml

    return read_yaml(path)


def check_finite(arrays: dict[str, np.ndarray], where: str) -> None:
    """ValueError naming `where` and the first tensor holding NaN or inf."""
    for name, value in arrays.items():
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            bad = int(value.size - np.isfinite(value).sum())
            raise ValueError(f"{where}: tensor {name} has {bad} non-finite values (NaN or inf) of {value.size}")


# -- checkpoint folders -------------------------------------------------------------------------------------------
def save_checkpoint(
    directory: str | Path,
    model: Module,
    *,
    optimizer: Any = None,
    config: dict[str, Any] | None = None,
    trainer_state: dict[str, Any] | None = None,
    extra_files: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Replace the checkpoint folder `directory` as a whole. extra_files: file name -> writer(path), e.g. a
    vocabulary's save. Non-finite model or optimizer values raise ValueError naming the tensor; nothing is written.
    """
    directory = Path(directory)
    weights = model.state_dict()
    check_finite(weights, f"{directory}: not saved: model")
    moments = optimizer.state_dict() if optimizer is not None else None
    if moments is not None:
        check_finite(moments, f"{directory}: not saved: optimizer")
    state = trainer_state if trainer_state is not None else {}

    def fill(tmp: Path) -> None:
        writers: dict[str, Callable[[Path], None]] = {MODEL_FILE: lambda p: write_arrays(p, weights)}
        if moments is not None:
            writers[OPTIMIZER_FILE] = lambda p: write_arrays(p, moments)
        if config is not None:
            writers[CONFIG_FILE] = lambda p: write_yaml(p, config)
        writers.update(extra_files or {})
        writers[STATE_FILE] = lambda p: write_json(p, state)
        for name, write in writers.items():
            write(tmp / name)
            files.fault_point("write", tmp / name)
        _write_manifest(tmp, state.get("step"))

    return files.replace_dir(directory, fill)


def _write_manifest(folder: Path, step: int | None) -> None:
    """manifest.json: the step and the size and SHA-256 of every other file of the folder."""
    listed = {
        p.name: {"size": p.stat().st_size, "sha256": files.sha256_file(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST_FILE
    }
    write_json(folder / MANIFEST_FILE, {"format": _FORMAT, "version": _VERSION, "step": step, "files": listed})
    files.fault_point("write", folder / MANIFEST_FILE)


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    """The folder's manifest.json, checked for form; None if the folder has none (a folder made by hand)."""
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        return None
    manifest = load_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError(f"{path}: not a checkpoint manifest (expected a JSON object with format {_FORMAT!r})")
    if manifest.get("version") != _VERSION:
        raise ValueError(f"{path}: unsupported version {manifest.get('version')!r}, expected {_VERSION}")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("sha256"), str)
        for v in listed.values()
    ):
        raise ValueError(f"{path}: key 'files' must map each file name to its size and sha256")
    if "step" not in manifest:
        raise ValueError(f"{path}: missing key 'step'")
    return manifest


def _verify(directory: Path, manifest: dict[str, Any], name: str, *, digest: bool = True) -> None:
    """ValueError/FileNotFoundError naming the file if it is missing or differs from what the manifest records."""
    path = directory / name
    entry = manifest["files"].get(name)
    if entry is None:
        raise ValueError(f"{path}: not listed in {MANIFEST_FILE}: the folder is not one save")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing, though listed in {MANIFEST_FILE}")
    size = path.stat().st_size
    if size != entry["size"]:
        raise ValueError(
            f"{path}: {size} bytes, {MANIFEST_FILE} records {entry['size']}: the file is truncated or from another save"
        )
    if digest and files.sha256_file(path) != entry["sha256"]:
        raise ValueError(f"{path}: SHA-256 differs from {MANIFEST_FILE}: the file is corrupt or from another save")


def is_complete(directory: str | Path) -> bool:
    """True if `directory` holds a manifest and every file it lists with its recorded size (no hashing)."""
    try:
        manifest = read_manifest(directory)
        if manifest is None:
            return False
        for name in manifest["files"]:
            _verify(Path(directory), manifest, name, digest=False)
    except (OSError, ValueError):
        return False
    return True


def verify_checkpoint(directory: str | Path) -> dict[str, Any] | None:
    """Check every file manifest.json lists against its recorded size and SHA-256 and return the manifest; None
    for a folder without one (made by hand). For loading a model to decode; errors name the file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such checkpoint folder")
    manifest = read_manifest(directory)
    for name in manifest["files"] if manifest is not None else ():
        _verify(directory, manifest, name)
    return manifest


def check_checkpoint(directory: str | Path, state_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Check that a folder is one complete save to resume from, and return its trainer state.

    Restores a folder caught between the two renames of a swap (see enc2dec.files); then the manifest must list
    the model, the optimizer and the trainer state, every listed file must have its recorded size and SHA-256, the
    state must be a JSON object holding `state_keys` and the manifest's step. Errors name the file.
    """
    directory = Path(directory)
    files.recover_dir(directory)
    manifest = verify_checkpoint(directory)
    if manifest is None:
        raise FileNotFoundError(f"{directory}: not a complete checkpoint (no {MANIFEST_FILE})")
    for name in (MODEL_FILE, OPTIMIZER_FILE, STATE_FILE):
        if name not in manifest["files"]:
            raise ValueError(f"{directory}: no {name} in this checkpoint; it is for decoding, not for resuming")
    state_path = directory / STATE_FILE
    state = load_json(state_path)
    if not isinstance(state, dict):
        raise ValueError(f"{state_path}: expected a JSON object, got {type(state).__name__}")
    for key in state_keys:
        if key not in state:
            raise ValueError(f"{state_path}: missing key {key!r}")
    if state.get("step") != manifest["step"]:
        raise ValueError(f"{state_path}: step {state.get('step')!r}, {MANIFEST_FILE} records {manifest['step']!r}")
    return state


def read_weights(directory: str | Path) -> dict[str, np.ndarray]:
    """model.safetensors of a folder: a valid file, as manifest.json records it (if the folder has one), finite."""
    directory = Path(directory)
    path = directory / MODEL_FILE
    arrays = load_arrays(path)
    manifest = read_manifest(directory)
    if manifest is not None:
        _verify(directory, manifest, MODEL_FILE)
    check_finite(arrays, str(path))
    return arrays


def load_weights(directory: str | Path, model: Module) -> None:
    """Load model.safetensors into `model`; a missing, unexpected, misshaped, mistyped or non-finite tensor, or a
    file changed since its save, is an error naming the file."""
    path = Path(directory) / MODEL_FILE
    arrays = read_weights(directory)
    params = dict(model.named_parameters())
    for name, value in arrays.items():
        if name in params and value.dtype != params[name].dtype:
            raise ValueError(f"{path}: tensor {name} has dtype {value.dtype}, the model needs {params[name].dtype}")
    try:
        model.load_state_dict(arrays)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def numbered_checkpoints(run_dir: str | Path) -> list[Path]:
    """The complete ckpt-<step> folders of a run, oldest (lowest step) first; incomplete ones are skipped."""
    found = []
    for path in Path(run_dir).glob(f"{NUMBERED_PREFIX}*"):
        step = path.name[len(NUMBERED_PREFIX) :]
        if step.isdigit() and is_complete(path):
            found.append((int(step), path))
    return [path for _, path in sorted(found)]


def average_checkpoints(dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Write out_dir: the element-wise mean of the model weights of `dirs` (Vaswani et al. 2017 average the last
    5 or 20 checkpoints), with the other model files (config, vocabularies) of the last of them; no optimizer or
    trainer state, so it is for translation, not for resuming. Every checkpoint must hold the same tensors."""
    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise ValueError("average_checkpoints: no checkpoint directories given")
    out_dir = Path(out_dir)
    if out_dir.resolve() in {d.resolve() for d in dirs}:
        raise ValueError(f"average_checkpoints: out_dir {out_dir} is one of the checkpoints averaged")
    first = read_weights(dirs[0])
    total = {k: v.astype(np.float64) for k, v in first.items()}
    for d in dirs[1:]:
        arrays = read_weights(d)
        if set(arrays) != set(first):
            diff = sorted(set(arrays) ^ set(first))
            raise ValueError(f"average_checkpoints: {d / MODEL_FILE} has other tensors than {dirs[0]}: {diff}")
        for k, v in arrays.items():
            if v.shape != first[k].shape:
                raise ValueError(
                    f"average_checkpoints: {d / MODEL_FILE}: {k} has shape {v.shape}, {dirs[0]} has {first[k].shape}"
                )
            total[k] += v
    mean = {k: (v / len(dirs)).astype(first[k].dtype) for k, v in total.items()}
    skip = {MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, MANIFEST_FILE}
    manifest = read_manifest(dirs[-1])
    if manifest is not None:  # exactly the files of that save, as saved
        names = [name for name in manifest["files"] if name not in skip]
        for name in names:
            _verify(dirs[-1], manifest, name)
    else:  # a folder made by hand: its visible files
        names = [p.name for p in dirs[-1].iterdir() if p.is_file() and p.name not in skip and p.name[0] != "."]
    copied = [dirs[-1] / name for name in sorted(names)]

    def fill(tmp: Path) -> None:
        import shutil

        for src in copied:
            shutil.copyfile(src, tmp / src.name)
            files.fault_point("write", tmp / src.name)
        write_arrays(tmp / MODEL_FILE, mean)
        files.fault_point("write", tmp / MODEL_FILE)
        write_json(tmp / "averaged_from.json", [str(d) for d in dirs])
        files.fault_point("write", tmp / "averaged_from.json")
        _write_manifest(tmp, None)

    return files.replace_dir(out_dir, fill)
