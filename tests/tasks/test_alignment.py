"""Attention pictures from a saved attention model, built on the translation task."""

from __future__ import annotations

import pytest

from enc2dec import cli, run
from enc2dec.tasks.alignment import align


def _train(cfg, out, **options):
    """run.train without pictures (matplotlib costs seconds a run; the task tests check the pictures)."""
    return run.train(cfg, out, pictures=False, **options)


SMALL = {
    "task": "translation",
    "model": {"type": "attention_seq2seq", "embed_size": 8, "hidden_size": 16, "dropout": 0.0},
    "data": {"dataset": "dates", "n_train": 300, "max_tokens": 800},
    "training": {"max_steps": 8, "lr": 0.01},
    "decoding": {"beam_size": 2, "valid_bleu_sentences": 0, "batch_size": 100},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return _train(run.config_from_dict(SMALL), tmp_path_factory.mktemp("run") / "r")


def test_saved_attention_model_aligns_like_the_trained_one(trained):
    result = align(run.load(trained.out_dir).trained, "3 March 1999")
    assert result.weights.shape == (len(result.out_tokens), len(result.src_tokens))
    assert abs(result.weights.sum(axis=1) - 1).max() < 1e-5
    assert align(run.load(trained.out_dir / "best").trained, "3 March 1999").out_tokens == result.out_tokens


def test_cli_plot_attention_writes_a_png(trained, tmp_path, capsys):
    png = tmp_path / "alignment.png"
    assert cli.main(["plot-attention", "--model", str(trained.out_dir), "--src", "1.2.2003", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "translation:" in capsys.readouterr().out


def test_plot_attention_needs_a_model_with_attention(tmp_path):
    cfg = run.config_from_dict({**SMALL, "model": {"type": "seq2seq", "embed_size": 4, "hidden_size": 4},
                                "training": {"max_steps": 1}})  # fmt: skip
    result = _train(cfg, tmp_path / "s2s")
    with pytest.raises(ValueError, match=r"plot-attention: Seq2Seq puts no attention weights"):
        align(run.load(result.out_dir).trained, "3 March 1999")
