"""A corrupt-file matrix over every file of a checkpoint folder written by the Trainer: truncated, empty, random
bytes, wrong dtype, NaN values, a file of another save. Resuming (`checkpoint.check_checkpoint`) and loading a
model to decode (`checkpoint.verify_checkpoint`, `load_weights`) each give one clear line naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from enc2dec import files
from enc2dec.data.arrays import ArrayBatcher
from enc2dec.data.vocab import Vocab
from enc2dec.layers import Dropout, Linear, Sequential, Tanh
from enc2dec.models.dense import EncoderDecoder
from enc2dec.training import TrainConfig, Trainer, checkpoint
from tests.reliability import STATE_KEYS

FILES = ["model.safetensors", "optimizer.safetensors", "config.yaml", "src_vocab.json", "trainer_state.json",
         "manifest.json"]  # fmt: skip
KINDS = ["truncated", "empty", "random_bytes", "wrong_dtype", "nan", "other_save"]


def _model(seed: int = 0) -> EncoderDecoder:
    rng = np.random.default_rng(seed)
    encoder = Sequential(Linear(6, 5, rng=rng), Tanh(), Dropout(0.2, rng=rng), Linear(5, 3, rng=rng))
    return EncoderDecoder(encoder, Sequential(Linear(3, 6, rng=rng)))


def _trainer(out_dir: Path, max_steps: int) -> tuple[Trainer, ArrayBatcher]:
    """A run whose config and vocabulary differ with max_steps, as a real run's may from save to save."""
    config = TrainConfig(lr=1e-2, max_steps=max_steps, eval_every_steps=2, seed=0)
    vocab = Vocab(["a", "b", "c"][: max_steps // 2])
    trainer = Trainer(_model(), config, out_dir=out_dir, run_config={"model": {"type": "dense"}, "max_steps": max_steps},
                      checkpoint_files=lambda: {"src_vocab.json": vocab.save})  # fmt: skip
    x = np.random.default_rng(1).standard_normal((30, 6)).astype(np.float32)
    return trainer, ArrayBatcher(x, x, batch_size=4, seed=0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """runs/a: a run of 6 steps; runs/b: one of 4 (its last/ is another save of each file)."""
    root = tmp_path_factory.mktemp("runs")
    for name, steps in (("a", 6), ("b", 4)):
        trainer, batches = _trainer(root / name, steps)
        trainer.fit(batches)
    assert sorted(p.name for p in (root / "a" / "last").iterdir()) == sorted(FILES)
    return root


def _corrupt(path: Path, kind: str, other: Path) -> None:
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes())
    elif kind == "other_save":
        shutil.copyfile(other, path)
    elif path.suffix == ".safetensors":
        arrays = checkpoint.load_arrays(path)
        name = sorted(k for k, v in arrays.items() if v.dtype == np.float32)[0]
        if kind == "wrong_dtype":
            arrays = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in arrays.items()}
        else:
            arrays[name] = np.full_like(arrays[name], np.nan)
        checkpoint.write_arrays(path, arrays)
    elif path.suffix == ".json":  # a list where an object belongs; a NaN number
        path.write_text("[1, 2]" if kind == "wrong_dtype" else data.decode().replace("1", "NaN", 1))
    else:  # config.yaml
        path.write_text("- 1\n- 2\n" if kind == "wrong_dtype" else data.decode() + "lr: .nan\n")


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", FILES)
def test_resume_refuses_every_corrupt_file_naming_it(runs, tmp_path, name, kind):
    folder = tmp_path / "last"
    shutil.copytree(runs / "a" / "last", folder)
    _corrupt(folder / name, kind, runs / "b" / "last" / name)
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        checkpoint.check_checkpoint(folder, STATE_KEYS)
    if name == "manifest.json":  # names it, or a file it does not describe
        assert "manifest.json" in _one_line(err)
        return
    assert f"last/{name}: " in _one_line(err)
    with pytest.raises(ValueError) as err:
        checkpoint.verify_checkpoint(folder)
    assert f"last/{name}: " in _one_line(err)
    if name == "model.safetensors":
        with pytest.raises(ValueError) as err:
            checkpoint.load_weights(folder, _model())
        assert f"last/{name}: " in _one_line(err)


@pytest.mark.parametrize("kind", ["truncated", "random_bytes", "wrong_dtype", "nan"])
def test_a_model_file_without_manifest_is_still_checked(runs, tmp_path, kind):
    folder = tmp_path / "hand_made"
    folder.mkdir()
    shutil.copyfile(runs / "a" / "last" / "model.safetensors", folder / "model.safetensors")
    _corrupt(folder / "model.safetensors", kind, runs / "b" / "last" / "model.safetensors")
    with pytest.raises(ValueError, match=r"hand_made/model.safetensors: ") as err:
        checkpoint.load_weights(folder, _model())
    _one_line(err)


def test_trainer_resume_refuses_a_folder_whose_parts_do_not_belong_together(runs, tmp_path):
    shutil.copytree(runs / "a", tmp_path / "run")
    shutil.copyfile(runs / "b" / "last" / "optimizer.safetensors", tmp_path / "run" / "last" / "optimizer.safetensors")
    trainer, batches = _trainer(tmp_path / "run", 8)
    with pytest.raises(ValueError, match=r"last/optimizer.safetensors: SHA-256 differs from manifest.json"):
        trainer.fit(batches, resume=tmp_path / "run" / "last")


def test_trainer_start_removes_the_leftovers_of_a_killed_save(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "a", run)
    shutil.copytree(run / "last", run / ".best.tmp-999999")  # a save of best/ killed before its swap
    (run / ".metrics.jsonl.tmp-999999").write_text("{}")
    trainer, batches = _trainer(run, 7)  # 7: one more step, no evaluation, so no save of best/ cleans them
    trainer.fit(batches, resume=run / "last")
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_trainer_state_errors_name_the_file_and_key(runs, tmp_path):
    folder = tmp_path / "last"
    shutil.copytree(runs / "a" / "last", folder)
    state = json.loads((folder / "trainer_state.json").read_text())
    del state["history"]
    checkpoint.save_checkpoint(folder, _model(), optimizer=_trainer(tmp_path / "x", 1)[0].optimizer,
                               trainer_state=state)  # fmt: skip
    with pytest.raises(ValueError, match=r"last/trainer_state.json: missing key 'history'"):
        checkpoint.check_checkpoint(folder, STATE_KEYS)
    assert files.clean_leftovers(tmp_path) == []
