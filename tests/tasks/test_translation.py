"""The translation task end to end on the generated dates task: train, save, load, translate, evaluate."""

from __future__ import annotations

import dataclasses
import json
import os
import select
import subprocess
import sys

import numpy as np
import pytest

from enc2dec import cli, run
from enc2dec.tasks import translation
from enc2dec.training.trainer import evaluate_loss

SMALL = {
    "task": "translation",
    "model": {"type": "seq2seq", "embed_size": 8, "hidden_size": 16, "n_layers": 1, "init_scale": None},
    "data": {"dataset": "dates", "n_train": 300, "max_tokens": 800},
    "training": {"max_steps": 12, "eval_every_steps": 6, "lr": 0.01, "best_metric": "valid_bleu", "best_mode": "max"},
    "decoding": {"beam_size": 2, "valid_bleu_sentences": 20, "batch_size": 100},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return run.train(run.config_from_dict(SMALL), tmp_path_factory.mktemp("run") / "r")


def test_train_writes_best_last_metrics_and_no_test_score(trained):
    out = trained.out_dir
    assert {"best", "last", "metrics.jsonl", "run.json", "loss.png"} <= {p.name for p in out.iterdir()}
    assert not list(out.glob("*test*")), "training must not score the test split"
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in lines if "valid_bleu" in r]
    assert [r["step"] for r in evals] == [6, 12]
    assert trained.best["valid_bleu"] == max(r["valid_bleu"] for r in evals)
    assert json.loads((out / "run.json").read_text())["splits"]["valid"] == 500


def test_saved_model_translates_like_the_trained_one(trained):
    translator = run.load(trained.out_dir).trained
    assert isinstance(translator, translation.Translator)
    for name, value in trained.model.state_dict().items():
        np.testing.assert_array_equal(translator.model.state_dict()[name], value)  # best/ holds the best weights
    again = run.load(trained.out_dir / "best").trained
    assert translator.translate(["3 March 1999"]) == again.translate(["3 March 1999"])


def test_evaluate_scores_the_named_split_with_unsmoothed_perplexity(trained):
    scores = run.evaluate(trained.out_dir, "test")
    assert set(scores) >= {"test_bleu", "test_bleu_lc", "test_chrf", "test_ppl", "bleu_signature"}
    translator = run.load(trained.out_dir).trained
    data = trained.data
    expected = evaluate_loss(translator.model, translation.batches_in_order(data.test, 100))
    assert scores["test_ppl"] == pytest.approx(float(np.exp(expected)), rel=1e-5)  # smoothing is 0 here
    assert run.evaluate(trained.out_dir, "valid")["valid_bleu"] != scores["test_bleu"]


def test_cli_translate_n_best_and_evaluate_files(trained, tmp_path, monkeypatch, capsys):
    import io
    import sys

    model = str(trained.out_dir)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"3 March 1999\r\n\n14.07.89\n")))
    assert cli.main(["translate", "--model", model, "--n-best", "2", "--beam-size", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and lines[2:4] == ["-inf\t", "-inf\t"]  # k lines for every input, an empty one too
    src, ref = tmp_path / "src.txt", tmp_path / "ref.txt"
    src.write_text("3 March 1999\n", encoding="utf-8")
    ref.write_text("1999-03-03\n", encoding="utf-8")
    assert cli.main(["evaluate", "--model", model, "--src", str(src), "--ref", str(ref), "--method", "greedy"]) == 0
    assert "bleu_signature: nrefs:1|case:mixed" in capsys.readouterr().out


def test_cli_sampling_is_seeded(trained, tmp_path, capsys):
    src = tmp_path / "src.txt"
    src.write_text("3 March 1999\n14.07.89\n", encoding="utf-8")
    outputs = []
    for _ in range(2):
        assert cli.main(["translate", "--model", str(trained.out_dir), "--input", str(src), "--method", "sample",
                         "--seed", "3"]) == 0  # fmt: skip
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) == 2


def test_translate_needs_a_translation_model(tmp_path, capsys):
    assert cli.main(["translate", "--model", str(tmp_path / "nothing")]) == 2
    assert "not a model folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [
        ({"data": {"dataset": "tatoeba", "src_lang": "de"}}, "dataset 'tatoeba' is English-French"),
        ({"data": {"dataset": "files", "files": {"train_src": "a"}}}, "dataset 'files' needs data.files.train_tgt"),
        ({"model": {"type": "vae"}}, r"model.type must be one of \['attention_seq2seq', 'seq2seq', 'transformer'\]"),
        ({"model": {"type": "seq2seq", "beta": 1.0}}, "model.beta is not a Seq2SeqConfig field"),
        ({"training": {"max_steps": 1, "best_metric": "valid_blue"}}, "best_metric must be a metric this run produces"),
        ({"training": {"max_steps": 1, "best_metric": "valid_bleu"}}, "best_mode must be 'max' for valid_bleu"),
    ],
)
def test_config_errors_are_found_before_any_data_is_read(change, message):
    with pytest.raises(ValueError, match=message):
        run.config_from_dict({**SMALL, **change}, "small.yaml")


def test_tatoeba_honours_the_data_settings():
    from tests.helpers import SHARED_DATA

    cfg = translation.TextDataConfig(dataset="tatoeba", src_lang="fr", tgt_lang="en", data_dir=str(SHARED_DATA),
                                     max_train=300, min_freq=1, seed=1)  # fmt: skip
    data = translation.load_data(cfg)
    assert len(data.train) == 300 and data.name == "tatoeba-fr-en"
    other = translation.raw_splits(translation.TextDataConfig(**{**cfg.__dict__, "seed": 2}))
    assert other[1].src != data.valid.src_text  # the seed draws the split
    assert any(c in "".join(data.train.src_text) for c in "éèàç")  # French is the source


def test_an_over_long_source_is_reported_by_line_and_the_others_translated(tmp_path, capsys):
    model = {"type": "transformer", "model_size": 8, "n_heads": 2, "ff_size": 8, "n_encoder_layers": 1,
             "n_decoder_layers": 1, "positions": "learned", "max_positions": 40}  # fmt: skip
    cfg = run.config_from_dict({**SMALL, "model": model, "training": {"max_steps": 1}})
    out = run.train(cfg, tmp_path / "t").out_dir
    src = tmp_path / "src.txt"
    src.write_text("3 March 1999\n" + "Tuesday 7 November 2023 " * 4 + "\n14.07.89\n", encoding="utf-8")
    assert cli.main(["translate", "--model", str(out), "--input", str(src), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{src}: line 2: source has" in err and "the model reads at most 40" in err
    lines = (tmp_path / "o").read_text().splitlines()
    assert len(lines) == 3 and lines[1] == ""


def test_decoding_options_default_to_the_models_and_are_checked(trained, tmp_path, capsys):
    src = tmp_path / "src.txt"
    src.write_text("3 March 1999\n", encoding="utf-8")
    model = str(trained.out_dir)
    assert cli.main(["translate", "--model", model, "--input", str(src), "--method", "greedy", "--beam-size", "3"]) == 2
    assert "--beam-size is for --method beam, got --method greedy" in capsys.readouterr().err
    assert cli.main(["evaluate", "--model", model, "--split", "valid", "--method", "sample", "--seed", "1"]) == 0
    sampled = capsys.readouterr().out
    assert cli.main(["evaluate", "--model", model, "--split", "valid"]) == 0
    assert capsys.readouterr().out != sampled  # the options reach the split's evaluation


def test_decoding_controls_from_the_command_line(trained, tmp_path, capsys):
    src = tmp_path / "src.txt"
    src.write_text("3 March 1999\n14.07.89\n", encoding="utf-8")
    base = ["translate", "--model", str(trained.out_dir), "--input", str(src)]

    def translate(*flags: str) -> list[str]:
        assert cli.main([*base, *flags]) == 0, capsys.readouterr().err
        return capsys.readouterr().out.splitlines()

    # the dates task's target tokens are characters: "1999-03-03" is 10 of them
    assert all(len(line) >= 12 for line in translate("--min-length", "12", "--method", "greedy"))
    for line in translate("--no-repeat-ngram", "2", "--length-penalty-style", "gnmt", "--length-penalty", "0.6"):
        assert len(list(zip(line, line[1:]))) == len(set(zip(line, line[1:])))
    sampled = translate("--method", "sample", "--temperature", "0.5", "--top-k", "3", "--top-p", "0.9", "--seed", "4")
    assert sampled == translate("--method", "sample", "--temperature", "0.5", "--top-k", "3", "--top-p", "0.9",
                                "--seed", "4")  # fmt: skip
    assert cli.main([*base, "--temperature", "0.5", "--method", "beam"]) == 2
    assert "--temperature is for --method sample, got --method beam" in capsys.readouterr().err
    assert cli.main([*base, "--no-repeat-ngram", "1"]) == 2
    assert "no_repeat_ngram must be 0 (off) or >= 2, got 1" in capsys.readouterr().err


def test_translate_streams_through_a_pipe(trained):
    """The first translation comes back while the input is still open: translate answers line by line."""
    command = [sys.executable, "-m", "enc2dec.cli", "translate", "--model", str(trained.out_dir), "--method", "greedy"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env) as job:  # fmt: skip
        try:
            answers = []
            for line in (b"3 March 1999\n", b"14.07.89\n"):
                job.stdin.write(line)
                job.stdin.flush()
                ready, _, _ = select.select([job.stdout], [], [], 60)
                assert ready, "no translation within 60 s while the input is open"
                answers.append(job.stdout.readline().decode().strip())
            job.stdin.close()
            assert job.wait(timeout=60) == 0 and job.stdout.read() == b""
        finally:
            job.kill()  # a no-op once it has ended; else the with block would wait for it
    translator = run.load(trained.out_dir).trained
    assert answers == [t.text for t in translator.translate(["3 March 1999", "14.07.89"], method="greedy")]


def test_translate_returns_scored_translations_and_n_best_lists_whatever_the_saved_method(trained):
    translator = run.load(trained.out_dir).trained
    translator.decoding = dataclasses.replace(translator.decoding, method="greedy")  # as a quickstart model is saved
    sentences = ["3 March 1999", "", "14.07.89"]
    best = translator.translate(sentences)
    assert [str(t) for t in best] == [t.text for t in best] and best[1].text == "" and best[1].tokens == []
    assert best[0].score == pytest.approx(translator.decode_ids([translator.encode(sentences[0])])[0][0].score)
    lists = translator.translate(sentences, n_best=3)  # greedy cannot give 3: beam search of width 3 does
    assert [len(r) for r in lists] == [3, 0, 3]
    for r in (lists[0], lists[2]):
        assert len({tuple(t.tokens) for t in r}) == 3
        keys = [t.score / (len(t.tokens) + 1) for t in r]  # length-normalised (alpha 1, eos emitted)
        assert keys == sorted(keys, reverse=True)
    draws = translator.translate(sentences[:1], n_best=4, method="sample", seed=0)
    assert len(draws[0]) == 4 and draws == translator.translate(sentences[:1], n_best=4, method="sample", seed=0)
    with pytest.raises(ValueError, match="n_best=3 needs method 'beam' or 'sample', got 'greedy'"):
        translator.translate(sentences, n_best=3, method="greedy")


def test_a_forced_prefix_from_the_api_and_the_command_line(trained, tmp_path, capsys):
    translator = run.load(trained.out_dir).trained
    sentences = ["3 March 1999", "14.07.89"]
    forced = translator.translate(sentences, prefix=["20", ""], method="greedy")
    assert forced[0].text.startswith("20") and forced[1] == translator.translate(sentences, method="greedy")[1]
    (tmp_path / "src.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    (tmp_path / "prefix.txt").write_text("20\n\n", encoding="utf-8")
    argv = ["translate", "--model", str(trained.out_dir), "--input", str(tmp_path / "src.txt"), "--method", "greedy"]
    assert cli.main([*argv, "--prefix", str(tmp_path / "prefix.txt")]) == 0
    assert capsys.readouterr().out.splitlines() == [t.text for t in forced]
    (tmp_path / "prefix.txt").write_text("20\n", encoding="utf-8")
    assert cli.main([*argv, "--prefix", str(tmp_path / "prefix.txt")]) == 2
    assert "prefix.txt: 1 lines, fewer than the input's" in capsys.readouterr().err
    (tmp_path / "prefix.txt").write_text("20\n\n\n", encoding="utf-8")  # one too many: the files are misaligned
    assert cli.main([*argv, "--prefix", str(tmp_path / "prefix.txt")]) == 2
    assert "prefix.txt: 3 lines, the input 2: one prefix per input line" in capsys.readouterr().err


def test_an_ensemble_of_two_identical_models_is_that_model(trained, tmp_path, capsys):
    one = run.load(trained.out_dir).trained
    pair = translation.ensemble([one, run.load(trained.out_dir).trained])
    sentences = ["3 March 1999", "14.07.89", "Tuesday 7 November 2023", "5/6/77"]
    for options in ({"method": "greedy"}, {"method": "beam", "beam_size": 3}, {"method": "sample", "seed": 2}):
        n_best = 1 if options["method"] == "greedy" else 2
        alone, both = (t.translate(sentences, n_best=n_best, **options) for t in (one, pair))
        assert [[t.tokens for t in r] for r in both] == [[t.tokens for t in r] for r in alone]
        np.testing.assert_allclose([t.score for r in both for t in r], [t.score for r in alone for t in r], rtol=1e-5)
    src = tmp_path / "src.txt"
    src.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    model = str(trained.out_dir)
    assert cli.main(["translate", "--model", model, "--model", model, "--input", str(src), "--method", "greedy"]) == 0
    assert capsys.readouterr().out.splitlines() == [t.text for t in one.translate(sentences, method="greedy")]
    alone = run.evaluate(model, "valid")
    assert cli.main(["evaluate", "--model", model, "--model", model, "--split", "valid"]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(printed["valid_bleu"]) == pytest.approx(alone["valid_bleu"], abs=1e-4) and "valid_ppl" not in printed


def test_a_lexical_shortlist_from_the_command_line(trained, tmp_path, capsys):
    from enc2dec.decoding.shortlist import Shortlist

    model, out = str(trained.out_dir), tmp_path / "shortlist"
    assert cli.main(["shortlist", "--model", model, "--out", str(out), "--frequent", "8", "--per-source", "4"]) == 0
    assert f"decode with --shortlist {out}" in capsys.readouterr().out
    shortlist = Shortlist.load(out)
    translator = run.load(model).trained
    sentences = ["3 March 1999", "14.07.89", "Tuesday 7 November 2023"]
    (tmp_path / "src.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    argv = ["translate", "--model", model, "--input", str(tmp_path / "src.txt"), "--method", "greedy"]
    assert cli.main([*argv, "--shortlist", str(out)]) == 0
    expected = translator.translate(sentences, method="greedy", shortlist=shortlist)
    assert capsys.readouterr().out.splitlines() == [t.text for t in expected]
    assert cli.main(["evaluate", "--model", model, "--shortlist", str(out)]) == 0  # beam, as the model is saved
    assert "valid_bleu" in capsys.readouterr().out
    assert cli.main(["evaluate", "--model", model, "--n-best", "2"]) == 2
    assert "--n-best is for translate; evaluate scores the best translation" in capsys.readouterr().err
    Shortlist(shortlist.frequent, shortlist.table, shortlist.tgt_vocab_size, "another").save(tmp_path / "other")
    assert cli.main([*argv, "--shortlist", str(tmp_path / "other")]) == 2
    assert "the shortlist was built for a model with other vocabularies" in capsys.readouterr().err


def test_an_ensemble_mixes_model_types_over_one_vocabulary(tmp_path):
    config = {**SMALL, "model": {"type": "transformer", "model_size": 8, "n_heads": 2, "ff_size": 8,
                                 "n_encoder_layers": 1, "n_decoder_layers": 1}}  # fmt: skip
    attention = {**SMALL, "model": {"type": "attention_seq2seq", "embed_size": 8, "hidden_size": 8}}
    runs = [
        run.train(run.config_from_dict(c), tmp_path / str(i)).out_dir for i, c in enumerate((SMALL, config, attention))
    ]
    translators = [run.load(r).trained for r in runs]
    mixed = translation.ensemble(translators)
    out = mixed.translate(["3 March 1999", "14.07.89"], n_best=2, method="beam", beam_size=2)
    assert [len(r) for r in out] == [2, 2] and all(np.isfinite(t.score) for r in out for t in r)
    other = {**SMALL, "data": {**SMALL["data"], "dataset": "reverse"}}  # another target vocabulary
    stranger = run.load(run.train(run.config_from_dict(other), tmp_path / "x").out_dir).trained
    with pytest.raises(ValueError, match="ensemble: model 2 has another target vocabulary than model 1"):
        translation.ensemble([translators[0], stranger])


TIED = {
    "transformer": {"type": "transformer", "model_size": 8, "n_heads": 2, "ff_size": 8, "n_encoder_layers": 1,
                    "n_decoder_layers": 1},
    "seq2seq": {"type": "seq2seq", "embed_size": 8, "hidden_size": 8, "n_layers": 1},
    "attention_seq2seq": {"type": "attention_seq2seq", "embed_size": 8, "hidden_size": 8},
}  # fmt: skip


@pytest.mark.parametrize("model", TIED)
def test_a_joint_vocabulary_ties_source_target_and_output_embeddings(tmp_path, model):
    from tests.data.conftest import SHARED_DATA

    if not (SHARED_DATA / "multi30k").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    config = {
        "task": "translation",
        "model": {**TIED[model], "share_embeddings": True, "tie_output": True},
        "data": {"dataset": "multi30k", "data_dir": str(SHARED_DATA), "tokenizer": "sentencepiece",
                 "sp_vocab_size": 300, "joint_vocab": True, "max_train": 400, "min_freq": 1},
        "training": {"max_steps": 2, "lr": 0.01},
        "decoding": {"valid_bleu_sentences": 0, "max_len_b": 5, "max_len_a": 0},
    }  # fmt: skip
    out = run.train(run.config_from_dict(config), tmp_path / "r").out_dir
    translator = run.load(out).trained
    assert translator.src_vocab.itos == translator.tgt_vocab.itos  # one vocabulary, German and English pieces
    assert translator.src_tokenizer.to_config() == translator.tgt_tokenizer.to_config()
    names = [n for n, _ in translator.model.named_parameters()]
    assert not any(n.startswith("tgt_embed") for n in names) and "output.weight" not in names  # one table
    assert len(translator.translate(["Ein Mann fährt Fahrrad."])[0].tokens) <= 5
    unjoint = {**config, "data": {**config["data"], "joint_vocab": False}}
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary for both sides: set data.joint_vocab"):
        run.train(run.config_from_dict(unjoint), tmp_path / "u")
    with pytest.raises(ValueError, match="joint_vocab is for text read from files, not the generated 'dates'"):
        run.config_from_dict({**SMALL, "data": {**SMALL["data"], "joint_vocab": True}})


def test_sampling_is_a_configured_decoding_method(trained):
    translator = run.load(trained.out_dir).trained
    sentences = ["3 March 1999", "14.07.89"]
    translator.decoding = translation.DecodeConfig(method="sample", temperature=0.7, top_k=3, seed=5)
    configured = translator.translate(sentences)
    assert configured == translator.translate(sentences, method="sample", temperature=0.7, top_k=3, seed=5)
    with pytest.raises(ValueError, match="DecodeConfig.top_p must be"):
        translation.DecodeConfig(method="sample", top_p=1.5)
