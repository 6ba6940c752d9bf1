from __future__ import annotations

import json

import numpy as np
import pytest

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.layers import Dropout, Linear, Sequential, Tanh
from enc2dec.models.dense import EncoderDecoder
from enc2dec.training import TrainConfig, Trainer, checkpoint


def _model(seed: int = 0) -> EncoderDecoder:
    rng = np.random.default_rng(seed)
    encoder = Sequential(Linear(6, 8, rng=rng), Tanh(), Dropout(0.2, rng=rng), Linear(8, 2, rng=rng))
    return EncoderDecoder(encoder, Sequential(Linear(2, 6, rng=rng)))


def _data(n: int = 50) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((n, 6)).astype(np.float32)


def _config(**kw) -> TrainConfig:
    # a schedule that does not depend on the budget, so stopping at step 17 changes nothing before it
    base = dict(optimizer="adam", lr=1e-2, schedule="warmup_inv_sqrt", max_steps=30, warmup_steps=3)
    return TrainConfig(**{**base, **kw})


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    x = _data()
    full = _model()
    Trainer(full, _config()).fit(ArrayBatcher(x, x, batch_size=8, seed=3))  # 7 batches an epoch: resumes mid-epoch

    first = _model()
    Trainer(first, _config(max_steps=17), out_dir=tmp_path).fit(ArrayBatcher(x, x, batch_size=8, seed=3))
    resumed = _model(seed=99)  # other initial weights: everything must come from the checkpoint
    history = Trainer(resumed, _config()).fit(ArrayBatcher(x, x, batch_size=8, seed=3), resume=tmp_path / "last")
    assert len(history.train_loss) == 30
    for (name, p), (_, q) in zip(full.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(p.value, q.value, err_msg=name)


def test_checkpoint_files_and_metrics_log(tmp_path):
    x = _data()
    trainer = Trainer(_model(), _config(max_steps=None, max_epochs=2), out_dir=tmp_path, run_config={"model": {"a": 1}})
    trainer.fit(ArrayBatcher(x, x, batch_size=10), valid=[(x, x)])
    for name in ("model.safetensors", "optimizer.safetensors", "config.yaml", "trainer_state.json"):
        assert (tmp_path / "last" / name).is_file() and (tmp_path / "best" / name).is_file()
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if "valid_loss" in r] == [1, 2]
    assert not list(tmp_path.rglob(".*tmp*"))  # no temporary files left behind


def test_non_finite_loss_stops_with_the_step_and_keeps_checkpoints(tmp_path):
    x = _data()
    model = _model()
    trainer = Trainer(model, _config(max_steps=None, max_epochs=3, lr=1.0), out_dir=tmp_path)
    trainer.fit(ArrayBatcher(x, x, batch_size=10), valid=[(x, x)])
    saved = checkpoint.load_arrays(tmp_path / "last" / "model.safetensors")
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(FloatingPointError, match=r"the loss is nan at step 1 \(epoch 1\)"):
        Trainer(model, _config(), out_dir=tmp_path).fit(ArrayBatcher(bad, bad, batch_size=50))
    after = checkpoint.load_arrays(tmp_path / "last" / "model.safetensors")
    for k in saved:
        np.testing.assert_array_equal(saved[k], after[k])


def test_early_stopping(tmp_path):
    x = _data()
    history = Trainer(_model(), _config(max_steps=None, max_epochs=50, lr=1e-9, patience=1)).fit(
        ArrayBatcher(x, x, batch_size=10), valid=[(x[:5], x[:5] + 100)]
    )
    assert len(history.evals) < 50


def test_loading_bad_checkpoints_is_a_clear_error(tmp_path):
    model = _model()
    checkpoint.save_checkpoint(tmp_path / "ck", model)
    other = EncoderDecoder(
        Sequential(Linear(6, 3, rng=np.random.default_rng(0))), Sequential(Linear(3, 6, rng=np.random.default_rng(0)))
    )
    with pytest.raises(ValueError, match=r"ck/model.safetensors: .*missing keys"):
        checkpoint.load_weights(tmp_path / "ck", other)
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        checkpoint.load_weights(tmp_path / "ck", model)
    with pytest.raises(FileNotFoundError, match="nowhere: no such checkpoint folder"):
        Trainer(model, _config()).fit(ArrayBatcher(_data(), _data(), batch_size=5), resume=tmp_path / "nowhere")


def test_config_needs_a_budget():
    with pytest.raises(ValueError, match="set at least one budget"):
        TrainConfig()
    with pytest.raises(ValueError, match="TrainConfig.optimizer must be one of"):
        TrainConfig(optimizer="rmsprop", max_steps=1)
    with pytest.raises(ValueError, match="cosine.*set max_steps or max_epochs"):
        TrainConfig(schedule="cosine", max_minutes=5)
    TrainConfig(schedule="cosine", max_minutes=5, max_epochs=3)  # the epochs give it a length
