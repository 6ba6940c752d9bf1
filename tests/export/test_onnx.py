"""ONNX export: graphs checked by onnx.checker, run by onnxruntime, agreeing with enc2dec on the same weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX export needs onnx (pip install '.[export]')")
pytest.importorskip("onnxruntime", reason="running ONNX exports needs onnxruntime (pip install '.[export]')")

from enc2dec import run  # noqa: E402
from enc2dec.decoding import decode_all  # noqa: E402
from enc2dec.export import onnx_runtime  # noqa: E402
from enc2dec.export.onnx import export_model, export_onnx  # noqa: E402
from enc2dec.models import autoencoders as ae  # noqa: E402
from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig  # noqa: E402
from enc2dec.models.forecast import Forecaster, ForecasterConfig  # noqa: E402
from enc2dec.models.seq2seq import Seq2Seq, Seq2SeqConfig  # noqa: E402
from enc2dec.models.transformer import Transformer, TransformerConfig  # noqa: E402
from enc2dec.models.vae import VAE, VAEConfig  # noqa: E402


def _train(cfg, out, **options):
    """run.train without pictures (matplotlib costs seconds a run; the task tests check the pictures)."""
    return run.train(cfg, out, pictures=False, **options)


TOL = 1e-4  # float32: the runtimes sum products in other orders

DENSE = [
    (ae.Autoencoder, ae.AutoencoderConfig(input_size=12, context_size=3, hidden_sizes=(10, 8), loss="bce")),
    (ae.Autoencoder, ae.AutoencoderConfig(input_size=12, context_size=3, hidden_sizes=(8,), activation="gelu")),
    (ae.DenoisingAutoencoder, ae.DenoisingConfig(input_size=12, context_size=3, activation="leaky_relu")),
    (
        ae.SparseAutoencoder,
        ae.SparseConfig(
            input_size=12,
            context_size=4,
            hidden_sizes=(8,),
            activation="relu",
            context_activation="sigmoid",
            sparsity="kl",
        ),
    ),  # fmt: skip
    (ae.ContractiveAutoencoder, ae.ContractiveConfig(input_size=12, context_size=2, activation="sigmoid")),
    (VAE, VAEConfig(input_size=12, context_size=3, hidden_sizes=(8,), decoder="bernoulli")),
    (VAE, VAEConfig(input_size=12, context_size=3, hidden_sizes=(8,), decoder="gaussian")),
]


@pytest.mark.parametrize("cls, config", DENSE, ids=lambda v: getattr(v, "__name__", ""))
def test_dense_graphs_match_codes_and_reconstructions(cls, config, tmp_path):
    rng = np.random.default_rng(0)
    model = cls.from_config(config, rng=rng).eval()
    manifest = export_model(model, tmp_path)
    runtime = onnx_runtime.load(tmp_path, threads=1)
    x = rng.random((9, 12), dtype=np.float32)
    np.testing.assert_allclose(runtime.encode(x), model.encode(x), atol=TOL, rtol=0)
    np.testing.assert_allclose(runtime.reconstruct(x), model.reconstruct(x), atol=TOL, rtol=0)
    codes = rng.standard_normal((5, config.context_size), dtype=np.float32)
    np.testing.assert_allclose(runtime.decode(codes), model.decode_mean(codes), atol=TOL, rtol=0)
    assert runtime.decode(codes).shape == (5, 12) and manifest["decoder"]["outputs"] == {"reconstruction": ["N", 12]}
    if cls is VAE:
        mean, log_variance = model.encode_gaussian(x)
        outputs = runtime.encode_outputs(x)
        np.testing.assert_allclose(outputs["log_variance"], log_variance, atol=TOL, rtol=0)
        assert list(outputs) == ["mean", "log_variance"]


def test_saved_autoencoder_exports_from_its_run_folder(tmp_path):
    cfg = run.config_from_dict({
        "task": "autoencoder",
        "data": {"dataset": "digits", "n_train": 100, "n_valid": 50, "n_test": 50, "batch_size": 50},
        "model": {"type": "autoencoder", "input_size": 64, "context_size": 2, "hidden_sizes": [16], "loss": "bce"},
        "training": {"best_metric": "valid_mse", "max_steps": 2, "eval_every_steps": 2},
    })  # fmt: skip
    result = _train(cfg, tmp_path / "run")
    manifest = export_onnx(tmp_path / "run", tmp_path / "onnx")
    assert manifest["model_type"] == "autoencoder" and manifest["kind"] == "dense"
    assert json.loads((tmp_path / "onnx" / "manifest.json").read_text()) == manifest
    assert manifest["encoder"]["inputs"] == {"x": ["N", 64]} and manifest["encoder"]["outputs"] == {"codes": ["N", 2]}
    x = result.data.x["test"]
    runtime = onnx_runtime.load(tmp_path / "onnx", threads=1)
    np.testing.assert_allclose(runtime.reconstruct(x), result.model.reconstruct(x), atol=TOL, rtol=0)


# -- seq2seq ------------------------------------------------------------------------------------------------------
def _random_source(rng: np.random.Generator, lengths: list[int], vocab: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array(lengths, dtype=np.int64)
    src = rng.integers(4, vocab, (len(lengths), lengths.max())).astype(np.int64)
    src[np.arange(lengths.max())[None, :] >= lengths[:, None]] = 0  # padding
    return src, lengths


def _check_steps(model, runtime, rng, vocab: int) -> None:
    """Encoder states and 4 decoder steps (log-probs, states, attention) agree within TOL."""
    src, lengths = _random_source(rng, [6, 2, 4, 1, 6], vocab)  # lengths in any order, padding between
    ours, theirs = model.encode(src, lengths), runtime.encode(src, lengths)
    prev = np.full(5, 2, dtype=np.int64)
    for _ in range(4):
        assert sorted(theirs) == sorted(ours)
        for name in ours:
            np.testing.assert_allclose(theirs[name], ours[name], atol=TOL, rtol=0, err_msg=name)
        log_probs, ours = model.step(prev, ours)
        their_log_probs, theirs = runtime.step(prev, theirs)
        np.testing.assert_allclose(their_log_probs, log_probs, atol=TOL, rtol=0)
        prev = log_probs.argmax(axis=1)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("reverse", [True, False])
def test_seq2seq_states_and_log_probs_match_step_by_step(cell, reverse, tmp_path):
    rng = np.random.default_rng(1)
    config = Seq2SeqConfig(cell=cell, embed_size=6, hidden_size=7, n_layers=2, init_scale=0.5, reverse_source=reverse)
    model = Seq2Seq(config, 20, 15, rng=rng).eval()
    if not reverse:  # and with one table for source, target and output (its projection is E^T)
        config = Seq2SeqConfig(cell=cell, embed_size=7, hidden_size=7, n_layers=2, init_scale=0.5,
                               reverse_source=False, share_embeddings=True, tie_output=True)  # fmt: skip
        model = Seq2Seq(config, 20, 20, rng=rng).eval()
    manifest = export_model(model, tmp_path)
    assert manifest["state"] == (["h", "c"] if cell == "lstm" else ["h"])
    _check_steps(model, onnx_runtime.load(tmp_path, threads=1), rng, 20)


ATTENTION = [
    {"cell": "gru"},
    {"cell": "lstm", "score": "dot", "encoder_layers": 2, "decoder_layers": 2},
    {"cell": "rnn", "score": "concat"},
    {"cell": "lstm", "input_feeding": True},
    {"cell": "gru", "attention": "bahdanau", "bidirectional": False, "encoder_layers": 2},
    {"cell": "lstm", "attention": "bahdanau"},
    {"cell": "gru", "embed_size": 8, "share_embeddings": True, "tie_output": True},
]


@pytest.mark.parametrize("options", ATTENTION, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_attention_seq2seq_states_log_probs_and_weights_match_step_by_step(options, tmp_path):
    rng = np.random.default_rng(2)
    config = AttentionSeq2SeqConfig(**{"embed_size": 6, "hidden_size": 8, "dropout": 0.0, "init_scale": 0.5, **options})
    model = AttentionSeq2Seq(config, 20, 20 if config.share_embeddings else 15, rng=rng).eval()
    export_model(model, tmp_path)
    _check_steps(model, onnx_runtime.load(tmp_path, threads=1), rng, 20)


TRANSFORMERS = [
    {},  # pre-LN, tied output, sinusoidal positions, ReLU
    {"pre_norm": False, "tie_output": False, "positions": "learned", "max_positions": 16, "activation": "gelu"},
    {"pre_norm": False, "share_embeddings": True, "scale_embeddings": False, "model_size": 9, "n_heads": 3},
]


@pytest.mark.parametrize("options", TRANSFORMERS, ids=["pre-tied-sin", "post-untied-learned", "post-shared-odd"])
def test_transformer_caches_and_log_probs_match_step_by_step(options, tmp_path):
    rng = np.random.default_rng(3)
    sizes = {"model_size": 12, "n_heads": 3, "ff_size": 20, "n_encoder_layers": 2, "n_decoder_layers": 2}
    config = TransformerConfig(**{**sizes, "dropout": 0.1, **options})  # dropout: eval mode must switch it off
    model = Transformer(config, 20, 20 if config.share_embeddings else 15, rng=rng).eval()
    manifest = export_model(model, tmp_path)
    assert manifest["state"][:5] == ["src_mask", "k_mem.0", "v_mem.0", "k_self.0", "v_self.0"]
    assert manifest["decoder"]["inputs"]["k_self.1"] == ["B", 3, "t", config.model_size // 3]
    runtime = onnx_runtime.load(tmp_path, threads=1)
    limit = 16 if config.positions == "learned" else None
    assert runtime.max_source_length == runtime.max_target_length == limit
    _check_steps(model, runtime, rng, 20)


def test_transformer_sinusoids_match_past_the_table(tmp_path):
    """enc2dec grows its sinusoid table past max_positions; the graph computes any position (sin even, cos odd)."""
    rng = np.random.default_rng(4)
    config = TransformerConfig(model_size=8, n_heads=2, ff_size=8, n_encoder_layers=1, n_decoder_layers=1,
                               max_positions=8)  # fmt: skip
    model = Transformer(config, 20, 15, rng=rng).eval()
    export_model(model, tmp_path)
    src, lengths = _random_source(rng, [40, 25], 20)
    ours, theirs = model.encode(src, lengths), onnx_runtime.load(tmp_path, threads=1).encode(src, lengths)
    for name in ("k_mem.0", "v_mem.0"):
        np.testing.assert_allclose(theirs[name], ours[name], atol=TOL, rtol=0, err_msg=name)


SMALL = {
    "task": "translation",
    "model": {"type": "seq2seq", "embed_size": 16, "hidden_size": 32, "n_layers": 2, "init_scale": None},
    "data": {"dataset": "dates", "n_train": 400, "max_tokens": 1000},
    "training": {"max_steps": 100, "eval_every_steps": 100, "lr": 0.02, "best_metric": "valid_loss"},
    "decoding": {"beam_size": 3, "valid_bleu_sentences": 0, "batch_size": 100},
}


MODELS = {
    "lstm": {**SMALL["model"], "cell": "lstm"},
    "gru": {**SMALL["model"], "cell": "gru"},
    "attention": {"type": "attention_seq2seq", "cell": "gru", "embed_size": 16, "hidden_size": 32, "dropout": 0.0},
    "transformer": {
        "type": "transformer",
        "model_size": 32,
        "n_heads": 4,
        "ff_size": 64,
        "n_encoder_layers": 2,
        "n_decoder_layers": 2,
        "dropout": 0.0,
        "label_smoothing": 0.0,
    },
}


@pytest.fixture(scope="module", params=list(MODELS))
def trained_dates(request, tmp_path_factory):
    cfg = run.config_from_dict({**SMALL, "model": MODELS[request.param]})
    folder = tmp_path_factory.mktemp(f"dates_{request.param}")
    result = _train(cfg, folder / "run")
    export_onnx(folder / "run", folder / "onnx")
    return result, folder / "onnx"


def test_dates_greedy_and_beam_outputs_match(trained_dates, capsys):
    result, exported = trained_dates
    model, runtime = result.model, onnx_runtime.load(exported, threads=1)
    src = result.data.valid.src  # 500 sentences
    shares, distinct = {}, set()
    for method, options in (("greedy", {}), ("beam", {"beam_size": 3})):
        ours = decode_all(model, src, method=method, batch_size=100, **options)
        theirs = decode_all(runtime, src, method=method, batch_size=100, **options)
        best = (lambda r: r[0]) if method == "beam" else (lambda r: r)
        same = [best(a).tokens == best(b).tokens for a, b in zip(ours, theirs)]
        shares[method] = sum(same) / len(same)
        distinct |= {tuple(best(a).tokens) for a in ours}
        scores = [abs(best(a).score - best(b).score) for a, b, s in zip(ours, theirs, same) if s]
        assert max(scores) < 1e-3  # a sum of up to ~15 log-probabilities, each within TOL
    with capsys.disabled():
        name = " ".join(filter(None, [type(model).__name__, getattr(model.config, "cell", None)]))
        print(f"\n{name}: identical outputs on {len(src)} dates sentences: {shares}, {len(distinct)} distinct")
    assert min(shares.values()) >= 0.99
    assert len(distinct) > 50  # a model that tells sentences apart (100 steps: ~75 distinct outputs of 500)


def test_exported_translator_translates_like_the_saved_one(trained_dates):
    result, exported = trained_dates
    translator = onnx_runtime.load_translator(exported, threads=1)
    sentences = ["3 March 1999", "14.07.89", "Tuesday, 1 May 2001"]
    assert [t.text for t in translator.translate(sentences)] == [
        t.text for t in run.load(result.out_dir).trained.translate(sentences)
    ]


# -- errors -------------------------------------------------------------------------------------------------------
def test_export_replaces_an_earlier_export_whole_and_nothing_else(tmp_path, monkeypatch):
    import enc2dec.export.onnx as onnx_export

    dense = ae.Autoencoder.from_config(DENSE[0][1], rng=np.random.default_rng(0))
    out = tmp_path / "onnx"
    export_model(dense, out)
    (out / "stale.onnx").write_bytes(b"from an earlier export")
    export_model(dense, out)  # the new export replaces the folder: nothing of the earlier one is left
    assert sorted(p.name for p in out.iterdir()) == ["decoder.onnx", "encoder.onnx", "manifest.json"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(model, folder):
        (folder / "encoder.onnx").write_bytes(b"half")
        raise RuntimeError("killed midway")

    monkeypatch.setattr(onnx_export, "export_dense", broken)
    with pytest.raises(RuntimeError, match="killed midway"):
        export_model(dense, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier export, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onnx"]  # no temporary folder left
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"--out .*busy: a folder that holds other files"):
        export_model(dense, tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_unexported_family_and_bad_folders_are_clear_errors(tmp_path):
    model = Forecaster(ForecasterConfig(embed_size=4, hidden_size=4), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="ONNX export covers the dense autoencoders, the VAE, "
                                         "seq2seq, attention_seq2seq and transformer so far, got Forecaster"):  # fmt: skip
        export_model(model, tmp_path / "t")
    assert not (tmp_path / "t").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"--out .*file: exists and is not a folder"):
        export_model(ae.Autoencoder.from_config(DENSE[0][1], rng=np.random.default_rng(0)), tmp_path / "file")
    with pytest.raises(FileNotFoundError, match=r"not an ONNX export folder \(no manifest.json\)"):
        onnx_runtime.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"kind": "graph"}')
    with pytest.raises(ValueError, match=r"manifest.json: 'kind' must be one of \['dense', 'step'\], got 'graph'"):
        onnx_runtime.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"kind": "dense", "encoder": {"file": "e.onnx"}, "decoder": 3}')
    with pytest.raises(ValueError, match="'decoder' must be an object with a 'file', got 3"):
        onnx_runtime.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"kind": "dense", "encoder": {"file": "e.onnx"}, "decoder": {"file": ""}}')
    with pytest.raises(FileNotFoundError, match=r"e.onnx: the graph named by manifest.json is missing"):
        onnx_runtime.load(tmp_path)


def test_cli_export_onnx(tmp_path, capsys):
    from enc2dec import cli

    cfg = run.config_from_dict({
        "task": "autoencoder",
        "data": {"dataset": "digits", "n_train": 100, "n_valid": 50, "n_test": 50, "batch_size": 50},
        "model": {"type": "vae", "input_size": 64, "context_size": 2, "hidden_sizes": [8]},
        "training": {"max_steps": 1},
    })  # fmt: skip
    _train(cfg, tmp_path / "run")
    assert cli.main(["export", "--model", str(tmp_path / "run"), "--format", "onnx", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "encoder.onnx").is_file() and (tmp_path / "o" / "manifest.json").is_file()
    args = ["export", "--model", str(tmp_path / "run"), "--format", "onnx", "--quantization", "int8"]
    assert cli.main([*args, "--out", str(tmp_path / "q")]) == 2
    assert "--format onnx takes no options" in capsys.readouterr().err
