"""The shared translation pipeline and its CLI verbs, on the generated dates task (no download)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from enc2dec import cli, translation
from enc2dec import config as config_io
from enc2dec.data.batching import batches_in_order
from enc2dec.training.trainer import evaluate_loss

SMALL = {
    "model": {"type": "seq2seq", "embed_size": 8, "hidden_size": 16, "n_layers": 1, "init_scale": None},
    "data": {"task": "dates", "n_train": 300, "max_tokens": 800},
    "training": {"max_steps": 12, "eval_every_steps": 6, "lr": 0.01},
    "decoding": {"beam_size": 2, "valid_bleu_sentences": 20, "batch_size": 100},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = config_io.from_dict(translation.TranslationConfig, SMALL)
    return translation.train(cfg, out), cfg


def test_train_writes_checkpoints_scores_and_logs(trained):
    result, _ = trained
    for name in ("src_vocab.json", "tgt_vocab.json", "tokenizers.json", "config.yaml", "model.safetensors"):
        assert (result.out_dir / "best" / name).is_file()
    scores = json.loads((result.out_dir / "test_scores.json").read_text())
    assert {"test_bleu", "test_bleu_lc", "test_chrf", "test_ppl", "bleu_signature"} <= set(scores)
    assert len(result.history.evals) == 2 and "valid_bleu" in result.history.evals[0]


def test_test_perplexity_is_unsmoothed_nll(trained):
    # label smoothing adds its own term to the training loss; perplexity is exp of the plain NLL
    result, cfg = trained
    translator = translation.load_translator(result.out_dir)
    data = translation.load_data(cfg.data)
    model = translator.model
    model.loss.smoothing = 0.2
    nll = translation.test_nll(model, data.test, 100)
    assert model.loss.smoothing == 0.2
    model.loss.smoothing = 0.0
    assert evaluate_loss(model, batches_in_order(data.test, 100)) == pytest.approx(nll)
    model.loss.smoothing = 0.2
    assert evaluate_loss(model, batches_in_order(data.test, 100)) > nll


def test_saved_model_translates_like_the_trained_one(trained):
    result, cfg = trained
    translator = translation.load_translator(result.out_dir)
    out = translator.translate(["3 March 1999", "", "1.2.2003"])
    assert len(out) == 3 and out[1] == "" and all(isinstance(s, str) for s in out)
    again = translation.load_translator(result.out_dir / "best").translate(["3 March 1999"])
    assert again[0] == out[0]


def test_resume_from_last_continues(trained, tmp_path):
    result, cfg = trained
    longer = config_io.from_dict(
        translation.TranslationConfig, config_io.apply_overrides(config_io.to_dict(cfg), ["training.max_steps=18"])
    )
    resumed = translation.train(longer, tmp_path, resume=result.out_dir / "last")
    assert len(resumed.history.train_loss) == 18


def test_cli_translate_and_evaluate(trained, tmp_path, monkeypatch, capsys):
    result, _ = trained
    monkeypatch.setattr(sys, "stdin", io.StringIO("3 March 1999\n1.2.2003\n"))
    assert cli.main(["translate", "--model", str(result.out_dir), "--method", "greedy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    src, ref = tmp_path / "src.txt", tmp_path / "ref.txt"
    src.write_text("3 March 1999\n1.2.2003\n")
    ref.write_text("1999-03-03\n2003-02-01\n")
    assert cli.main(["evaluate", "--model", str(result.out_dir), "--src", str(src), "--ref", str(ref)]) == 0
    assert "BLEU signature: nrefs:1|case:mixed" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("3 March 1999\n"))
    assert cli.main(["translate", "--model", str(result.out_dir), "--n-best", "2", "--beam-size", "2"]) == 0
    assert all("\t" in line for line in capsys.readouterr().out.splitlines())


def test_cli_train_from_yaml(tmp_path, capsys):
    import yaml

    path = tmp_path / "dates.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    args = ["train", str(path), "--out", str(tmp_path / "run"), "--quiet", "--set", "training.max_steps=4"]
    assert cli.main(args) == 0
    assert "BLEU signature" in capsys.readouterr().out


def test_config_errors_name_the_file_and_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  type: seq2seq\n  hiden_size: 3\n")
    with pytest.raises(
        ValueError, match=r"bad.yaml: model.hiden_size is not a Seq2SeqConfig field \(did you mean hidden_size\?\)"
    ):
        translation.load_config(path)
    path.write_text("model:\n  type: lstm2lstm\n")
    assert cli.main(["train", str(path)]) == 2
    assert "model.type must be one of" in capsys.readouterr().err
    assert cli.main(["translate", "--model", str(tmp_path / "nothing")]) == 2
    assert "not a model directory" in capsys.readouterr().err
