"""The attention model through the shared pipeline (train, checkpoint, load) and the `plot-attention` verb, on the
generated dates task (no download)."""

from __future__ import annotations

import pytest

from enc2dec import cli, translation
from enc2dec import config as config_io
from enc2dec.alignment import align
from enc2dec.data import synthetic

SMALL = {
    "model": {"type": "attention", "embed_size": 8, "hidden_size": 16, "dropout": 0.0},
    "data": {"task": "dates", "n_train": 300, "max_tokens": 800},
    "training": {"max_steps": 8, "lr": 0.01},
    "decoding": {"beam_size": 2, "valid_bleu_sentences": 20, "batch_size": 100},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = config_io.from_dict(translation.TranslationConfig, SMALL)
    return translation.train(cfg, out)


def test_saved_attention_model_aligns_like_the_trained_one(trained):
    translator = translation.load_translator(trained.out_dir / "last")
    result = align(translator, "3 March 1999")
    assert result.weights.shape == (len(result.out_tokens), len(result.src_tokens))
    assert abs(result.weights.sum(axis=1) - 1).max() < 1e-5
    again = align(translation.load_translator(trained.out_dir / "last"), "3 March 1999")
    assert again.out_tokens == result.out_tokens


def test_cli_plot_attention_writes_a_png(trained, tmp_path, capsys):
    png = tmp_path / "alignment.png"
    argv = ["plot-attention", "--model", str(trained.out_dir / "last"), "--src", "1.2.2003", "--out", str(png)]
    assert cli.main(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "translation:" in capsys.readouterr().out


def test_plot_attention_needs_a_model_with_attention():
    data = synthetic.dates(50, 10, 0)
    cfg = config_io.from_dict(
        translation.TranslationConfig, {**SMALL, "model": {"type": "seq2seq", "embed_size": 4, "hidden_size": 4}}
    )
    model = translation.build_model(cfg, len(data.src_vocab), len(data.tgt_vocab))
    translator = translation.Translator(
        model, data.src_vocab, data.tgt_vocab, data.src_tokenizer, data.tgt_tokenizer, cfg.decoding
    )
    with pytest.raises(ValueError, match=r"plot-attention: Seq2Seq puts no attention weights"):
        align(translator, "3 March 1999")
