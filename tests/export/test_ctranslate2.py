"""The CTranslate2 export: tiny Transformers trained on the generated dates task decode the same in CTranslate2 as
in enc2dec (greedy, beam with and without length normalisation, a maximum length that cuts), with the same scores;
int8 runs; the errors a user can cause."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict

import pytest

from enc2dec import cli, run
from enc2dec.data.tokenize import load_tokenizers
from enc2dec.export import export
from enc2dec.export.ctranslate2 import export_ctranslate2, translate_options

ctranslate2 = pytest.importorskip("ctranslate2", reason="the CTranslate2 export needs ctranslate2 (the export extra)")

TINY = {"type": "transformer", "model_size": 16, "n_heads": 2, "ff_size": 32, "n_encoder_layers": 1,
        "n_decoder_layers": 1, "dropout": 0.0, "max_positions": 64}  # fmt: skip
VARIANTS = {  # each covers one side of every choice at least once
    "pre_learned_tied_relu": {"pre_norm": True, "positions": "learned", "tie_output": True},
    "post_sinusoidal_untied_gelu": {
        "pre_norm": False,
        "positions": "sinusoidal",
        "tie_output": False,
        "activation": "gelu",
    },  # fmt: skip
    "pre_sinusoidal_tied_unscaled": {"pre_norm": True, "positions": "sinusoidal", "scale_embeddings": False},
}
DECODINGS = {  # method, DecodeConfig fields: the rules both engines share (see test_length_normalised_beam...)
    "greedy": ("greedy", {}),
    "greedy_cut": ("greedy", {"max_len_a": 0.0, "max_len_b": 4}),
    "beam4": ("beam", {"beam_size": 4, "length_penalty": 0.0}),
    "beam4_cut": ("beam", {"beam_size": 4, "length_penalty": 0.0, "max_len_a": 0.0, "max_len_b": 6}),
}


def _config(model: dict, steps: int = 40, **data) -> dict:
    return {
        "task": "translation",
        "model": model,
        "data": {"dataset": "dates", "n_train": 600, "max_tokens": 1200, **data},
        "training": {"max_steps": steps, "eval_every_steps": steps, "lr": 3e-3, "seed": 0},
        "decoding": {"valid_bleu_sentences": 0, "batch_size": 100},
    }


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def exported(request, tmp_path_factory):
    """(run result, CTranslate2 folder) of a tiny Transformer of one variant."""
    folder = tmp_path_factory.mktemp(request.param)
    result = run.train(run.config_from_dict(_config({**TINY, **VARIANTS[request.param]})), folder / "run")
    return result, export_ctranslate2(result.out_dir, folder / "ct2")


def _ct2_decode(engine, translator, sources: list[list[int]], method: str) -> list[tuple[list[int], float]]:
    """CTranslate2's best (token ids, score) per source, sources of one length together (its maximum length is
    one number per batch)."""
    by_length = defaultdict(list)
    for i, s in enumerate(sources):
        by_length[len(s)].append(i)
    out = [None] * len(sources)
    for length, rows in by_length.items():
        options = translate_options(translator.decoding, length, method=method,
                                    max_target_length=translator.model.max_target_length)  # fmt: skip
        batch = [translator.src_vocab.decode(sources[i]) for i in rows]
        for i, r in zip(rows, engine.translate_batch(batch, **options)):
            out[i] = ([translator.tgt_vocab[t] for t in r.hypotheses[0]], r.scores[0])
    return out


def _both(exported, method: str, **fields) -> tuple[list, list, float]:
    """enc2dec's best Hypothesis and CTranslate2's best (token ids, score) per held-out source, and the length
    penalty the beam scores are normalised with (0 for greedy: sums of log-probabilities)."""
    result, folder = exported
    translator = run.load(result.out_dir).trained
    translator.decoding = dataclasses.replace(translator.decoding, **fields)
    engine = ctranslate2.Translator(str(folder), device="cpu", intra_threads=1)
    sources = result.data.test.src[:150]
    ours = [h[0] for h in translator.decode_ids(sources, method=method)]
    alpha = translator.decoding.length_penalty if method == "beam" else 0.0
    return ours, _ct2_decode(engine, translator, sources, method), alpha


@pytest.mark.parametrize("decoding", sorted(DECODINGS))
def test_ctranslate2_decodes_as_enc2dec(exported, decoding):
    method, fields = DECODINGS[decoding]
    ours, theirs, alpha = _both(exported, method, **fields)
    same = [(h, score) for h, (tokens, score) in zip(ours, theirs) if h.tokens == tokens]
    diff = max((abs(h.normalized_score(alpha) - score) for h, score in same), default=0.0)
    assert len(same) >= 0.99 * len(ours) and diff <= 1e-4, (len(same) / len(ours), diff)


def test_length_normalised_beam_differs_only_where_one_engine_searches_on(exported):
    """With length_penalty > 0 enc2dec stops a sentence once no alive beam, scored at its current length, ranks
    above the best finished one; CTranslate2 once beam_size hypotheses have finished. Up to the earlier stop both
    searches are the same, so where they differ the one that searched on found a longer output ranking higher."""
    ours, theirs, alpha = _both(exported, "beam", beam_size=4, length_penalty=1.0)
    for h, (tokens, score) in zip(ours, theirs):
        mine = h.normalized_score(alpha)
        if h.tokens == tokens:
            assert abs(mine - score) <= 1e-4
        elif len(tokens) > len(h.tokens):
            assert score >= mine - 1e-4
        else:
            assert len(tokens) < len(h.tokens) and mine >= score - 1e-4


def test_export_writes_vocabularies_tokenizers_and_the_decoding(exported):
    result, folder = exported
    translator = run.load(result.out_dir).trained
    names = {p.name for p in folder.iterdir()}
    assert {"model.bin", "config.json", "tokenizers.json", "enc2dec_export.json"} <= names
    assert json.loads((folder / "source_vocabulary.json").read_text()) == translator.src_vocab.itos
    assert json.loads((folder / "target_vocabulary.json").read_text()) == translator.tgt_vocab.itos
    config = json.loads((folder / "config.json").read_text())
    assert [config[k] for k in ("unk_token", "bos_token", "eos_token", "decoder_start_token")] == [
        "<unk>", "<s>", "</s>", "<s>"]  # fmt: skip
    src_tok, _ = load_tokenizers(folder / "tokenizers.json")
    assert src_tok.tokenize("3 March 1999") == translator.src_tokenizer.tokenize("3 March 1999")
    info = json.loads((folder / "enc2dec_export.json").read_text())
    assert info["decoding"] == dataclasses.asdict(translator.decoding) and info["quantization"] is None


def test_int8_export_runs_and_translates(exported, tmp_path):
    result, _ = exported
    folder = export(result.out_dir, "ctranslate2", tmp_path / "int8", quantization="int8")
    translator = run.load(result.out_dir).trained
    engine = ctranslate2.Translator(str(folder), device="cpu", compute_type="int8", intra_threads=1)
    out = engine.translate_batch([list("3 March 1999")], **translate_options(translator.decoding, 12))
    assert out[0].hypotheses[0] and set(out[0].hypotheses[0]) <= set(translator.tgt_vocab.itos)
    assert json.loads((folder / "enc2dec_export.json").read_text())["quantization"] == "int8"


def test_sentencepiece_models_are_copied_alongside(tmp_path):
    from enc2dec.data import synthetic

    data = synthetic.dates(200, 20, 0)
    files = {}
    for split in ("train", "valid", "test"):
        part = getattr(data, split)
        for side, texts in (("src", part.src_text), ("tgt", part.tgt_text)):
            files[f"{split}_{side}"] = str(tmp_path / f"{split}.{side}")
            (tmp_path / f"{split}.{side}").write_text("\n".join(texts) + "\n", encoding="utf-8")
    cfg = _config(TINY, steps=1, dataset="files", files=files, tokenizer="sentencepiece", sp_vocab_size=60,
                  min_freq=1, n_train=1)  # fmt: skip
    out = run.train(run.config_from_dict(cfg), tmp_path / "run").out_dir
    folder = export_ctranslate2(out, tmp_path / "ct2")
    translator = run.load(out).trained
    assert (folder / "source.spm").read_bytes() == translator.src_tokenizer.model_proto
    assert (folder / "target.spm").read_bytes() == translator.tgt_tokenizer.model_proto
    engine = ctranslate2.Translator(str(folder), device="cpu", intra_threads=1)
    tokens = translator.src_tokenizer.tokenize("3 March 1999")
    assert engine.translate_batch([tokens], **translate_options(translator.decoding, len(tokens)))


@pytest.fixture(scope="module")
def seq2seq_run(tmp_path_factory):
    model = {"type": "seq2seq", "embed_size": 8, "hidden_size": 8, "n_layers": 1}
    return run.train(run.config_from_dict(_config(model, steps=1)), tmp_path_factory.mktemp("s2s") / "run").out_dir


def test_export_refuses_other_models_other_folders_and_unknown_options(seq2seq_run, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"holds a Seq2Seq; CTranslate2 runs the Transformer only"):
        export_ctranslate2(seq2seq_run, tmp_path / "out")
    with pytest.raises(ValueError, match=r"--quantization must be one of \['int8', 'int8_float32'\], got 'int4'"):
        export_ctranslate2(seq2seq_run, tmp_path / "out", quantization="int4")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"--out .*busy: a folder that holds other files"):
        export_ctranslate2(seq2seq_run, tmp_path / "busy")
    with pytest.raises(ValueError, match=r"--format must be one of \['ctranslate2', 'onnx'\], got 'tflite'"):
        export(seq2seq_run, "tflite", tmp_path / "out")
    monkeypatch.setitem(__import__("sys").modules, "ctranslate2.converters.converter", None)
    with pytest.raises(ValueError, match=r"needs the ctranslate2 package: pip install 'enc2dec\[export\]'"):
        export_ctranslate2(seq2seq_run, tmp_path / "out")


def test_cli_export(exported, seq2seq_run, tmp_path, capsys):
    result, _ = exported
    out = tmp_path / "ct2"
    assert cli.main(["export", "--model", str(result.out_dir), "--format", "ctranslate2", "--out", str(out),
                     "--quantization", "int8_float32"]) == 0  # fmt: skip
    assert f"model: {out}" in capsys.readouterr().out
    assert json.loads((out / "enc2dec_export.json").read_text())["quantization"] == "int8_float32"
    assert (
        cli.main(["export", "--model", str(seq2seq_run), "--format", "ctranslate2", "--out", str(tmp_path / "x")]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("enc2dec export: error: ") and "Transformer only" in err and err.count("\n") == 1


def test_translate_options_follow_enc2dec_rules():
    from enc2dec.tasks.translation import DecodeConfig

    d = DecodeConfig(beam_size=3, length_penalty=0.6, max_len_a=1.5, max_len_b=10)
    assert translate_options(d, 7) == {"beam_size": 3, "length_penalty": 0.6, "max_decoding_length": 20,
                                       "min_decoding_length": 0, "max_input_length": 0, "return_scores": True}  # fmt: skip
    greedy = translate_options(d, 7, method="greedy", max_target_length=16)
    assert (greedy["beam_size"], greedy["length_penalty"], greedy["max_decoding_length"]) == (1, 0.0, 16)
    with pytest.raises(ValueError, match=r"method must be 'beam' or 'greedy', got 'sample'"):
        translate_options(d, 7, method="sample")
    for fields in ({"no_repeat_ngram": 3}, {"min_length": 2}, {"length_penalty_style": "gnmt"}):
        with pytest.raises(ValueError, match="translate_options: CTranslate2"):
            translate_options(dataclasses.replace(d, **fields), 7)
