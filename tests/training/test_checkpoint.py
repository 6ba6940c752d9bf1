"""Checkpoint folders: written whole with a manifest, checked on resume and load, nothing non-finite saved or loaded."""

from __future__ import annotations

import errno
import os
import shutil

import numpy as np
import pytest

from enc2dec.data.vocab import Vocab
from enc2dec.layers import Linear, Sequential, Tanh
from enc2dec.models.dense import EncoderDecoder
from enc2dec.optim import Adam
from enc2dec.training import checkpoint

TRAINER_KEYS = ("step", "elapsed_seconds", "best", "bad_evals", "batcher", "model_rngs", "history")


def _model(seed: int = 0) -> EncoderDecoder:
    rng = np.random.default_rng(seed)
    return EncoderDecoder(Sequential(Linear(4, 3, rng=rng), Tanh()), Sequential(Linear(3, 4, rng=rng)))


def _save(directory, step: int, seed: int = 0, **kw):
    """A checkpoint as the Trainer writes it: model, Adam state, config, a vocabulary, the trainer state."""
    model = _model(seed)
    optimizer = Adam(model.parameters(), 1e-3)
    for p in model.parameters():
        p.grad[...] = 0.1 * step
    optimizer.step()
    vocab = Vocab(["a", "b"])
    options = dict(
        optimizer=optimizer,
        config={"model": {"type": "dense"}},
        trainer_state={"step": step, "elapsed_seconds": 1.0},
        extra_files={"src_vocab.json": vocab.save},
    )
    checkpoint.save_checkpoint(directory, model, **{**options, **kw})
    return model, optimizer


def test_a_checkpoint_folder_lists_every_file_in_its_manifest(tmp_path):
    saved, _ = _save(tmp_path / "last", step=3)
    manifest = checkpoint.read_manifest(tmp_path / "last")
    names = ["config.yaml", "model.safetensors", "optimizer.safetensors", "src_vocab.json", "trainer_state.json"]
    assert manifest["step"] == 3 and sorted(manifest["files"]) == names
    assert checkpoint.check_checkpoint(tmp_path / "last", ("step", "elapsed_seconds"))["step"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # no temporary left behind
    model = _model(seed=9)
    checkpoint.load_weights(tmp_path / "last", model)
    for (name, p), (_, q) in zip(model.named_parameters(), saved.named_parameters()):
        np.testing.assert_array_equal(p.value, q.value, err_msg=name)


def test_non_finite_weights_are_not_saved(tmp_path):
    _save(tmp_path / "last", step=1)
    before = (tmp_path / "last" / "model.safetensors").read_bytes()
    model = _model()
    model.parameters()[0].value[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"last: not saved: model: tensor \S+ has 1 non-finite values"):
        checkpoint.save_checkpoint(tmp_path / "last", model)
    model, optimizer = _model(), Adam(_model().parameters(), 1e-3)
    optimizer.state["m"][0][...] = np.inf
    with pytest.raises(ValueError, match=r"last: not saved: optimizer: tensor m.0 has 12 non-finite"):
        checkpoint.save_checkpoint(tmp_path / "last", model, optimizer=optimizer)
    assert (tmp_path / "last" / "model.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last"]


def test_load_weights_refuses_non_finite_and_mistyped_tensors(tmp_path):
    arrays = _model().state_dict()
    name = sorted(arrays)[0]
    bad = {**arrays, name: np.where(np.eye(*arrays[name].shape, dtype=bool), np.nan, arrays[name])}
    checkpoint.save_arrays(tmp_path / "nan" / "model.safetensors", {k: v.astype(np.float32) for k, v in bad.items()})
    n = min(arrays[name].shape)
    with pytest.raises(ValueError, match=rf"nan/model.safetensors: tensor {name} has {n} non-finite values"):
        checkpoint.load_weights(tmp_path / "nan", _model())
    checkpoint.save_arrays(tmp_path / "f64" / "model.safetensors", {**arrays, name: arrays[name].astype(np.float64)})
    with pytest.raises(ValueError, match=rf"f64/model.safetensors: tensor {name} has dtype float64, the model needs"):
        checkpoint.load_weights(tmp_path / "f64", _model())


@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors", "trainer_state.json"])
def test_a_file_from_another_save_is_refused(tmp_path, name):
    _save(tmp_path / "step1", step=1)
    _save(tmp_path / "step2", step=2, seed=1)
    shutil.copyfile(tmp_path / "step1" / name, tmp_path / "step2" / name)
    with pytest.raises(ValueError, match=rf"step2/{name}: .*(SHA-256 differs|bytes).* from another save"):
        checkpoint.check_checkpoint(tmp_path / "step2")
    if name == "model.safetensors":
        with pytest.raises(ValueError, match=rf"step2/{name}: SHA-256 differs from manifest.json"):
            checkpoint.load_weights(tmp_path / "step2", _model())


def test_check_checkpoint_errors_name_the_folder_or_file(tmp_path):
    _save(tmp_path / "empty_state", step=1, trainer_state={})
    with pytest.raises(ValueError, match=r"empty_state/trainer_state.json: missing key 'step'"):
        checkpoint.check_checkpoint(tmp_path / "empty_state", TRAINER_KEYS)
    _save(tmp_path / "model_only", step=1, optimizer=None)
    with pytest.raises(
        ValueError, match=r"model_only: no optimizer.safetensors in this checkpoint; it is for decoding"
    ):
        checkpoint.check_checkpoint(tmp_path / "model_only")
    with pytest.raises(FileNotFoundError, match=r"nowhere: no such checkpoint folder"):
        checkpoint.check_checkpoint(tmp_path / "nowhere")
    _save(tmp_path / "no_manifest", step=1)
    (tmp_path / "no_manifest" / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"no_manifest: not a complete checkpoint \(no manifest.json\)"):
        checkpoint.check_checkpoint(tmp_path / "no_manifest")
    _save(tmp_path / "bad_manifest", step=1)
    (tmp_path / "bad_manifest" / "manifest.json").write_text('{"format": "enc2dec-checkpoint", "version": 1}')
    with pytest.raises(ValueError, match=r"bad_manifest/manifest.json: key 'files' must map each file name"):
        checkpoint.check_checkpoint(tmp_path / "bad_manifest")
    _save(tmp_path / "gone", step=1)
    (tmp_path / "gone" / "src_vocab.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"gone/src_vocab.json: missing, though listed in manifest.json"):
        checkpoint.check_checkpoint(tmp_path / "gone")


def test_check_checkpoint_restores_a_folder_caught_between_two_renames(tmp_path):
    _save(tmp_path / "last", step=4)
    os.rename(tmp_path / "last", tmp_path / ".last.old-77")
    assert checkpoint.check_checkpoint(tmp_path / "last")["step"] == 4


def test_disk_full_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    _save(tmp_path / "last", step=1)
    before = {p.name: p.read_bytes() for p in (tmp_path / "last").iterdir()}
    real = checkpoint.write_arrays

    def full_disk(path, arrays):
        if path.name == "optimizer.safetensors":
            path.write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, arrays)

    monkeypatch.setattr(checkpoint, "write_arrays", full_disk)
    with pytest.raises(OSError, match=r"last: could not write the folder \(No space left on device\); the previous"):
        _save(tmp_path / "last", step=2, seed=1)
    assert {p.name: p.read_bytes() for p in (tmp_path / "last").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["last"]
    assert checkpoint.check_checkpoint(tmp_path / "last")["step"] == 1


def test_numbered_checkpoints_skip_incomplete_folders(tmp_path):
    for step in (2, 4, 6, 8):
        _save(tmp_path / f"ckpt-{step}", step=step, optimizer=None)
    (tmp_path / "ckpt-4" / "manifest.json").unlink()  # pruning killed midway
    (tmp_path / "ckpt-6" / "model.safetensors").unlink()
    (tmp_path / ".ckpt-10.tmp-5").mkdir()  # an interrupted save
    assert [p.name for p in checkpoint.numbered_checkpoints(tmp_path)] == ["ckpt-2", "ckpt-8"]


def test_average_is_written_whole_from_the_files_of_one_save(tmp_path):
    for step, seed in ((2, 0), (4, 1)):
        _save(tmp_path / f"ckpt-{step}", step=step, seed=seed, optimizer=None)
    (tmp_path / "ckpt-4" / ".src_vocab.json.tmp-5").write_text("half")  # not listed: never copied
    out = checkpoint.average_checkpoints(checkpoint.numbered_checkpoints(tmp_path), tmp_path / "avg")
    assert sorted(checkpoint.verify_checkpoint(out)["files"]) == [
        "averaged_from.json", "config.yaml", "model.safetensors", "src_vocab.json"
    ]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".avg")] == []
    checkpoint.load_weights(out, _model())
    (tmp_path / "ckpt-4" / "src_vocab.json").write_text('{"changed": 1}')
    with pytest.raises(ValueError, match=r"ckpt-4/src_vocab.json: .* from another save"):
        checkpoint.average_checkpoints([tmp_path / "ckpt-2", tmp_path / "ckpt-4"], tmp_path / "avg2")
