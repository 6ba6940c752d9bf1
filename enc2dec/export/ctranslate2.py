"""A trained Transformer as a CTranslate2 model folder, built through CTranslate2's own spec API.

    export_ctranslate2("runs/t", "ct2/t", quantization="int8")
    translator = ctranslate2.Translator("ct2/t", device="cpu")
    options = translate_options(run.load("runs/t").trained.decoding, len(source_tokens))
    translator.translate_batch([source_tokens], **options)   # enc2dec's tokens, enc2dec's decoding rules

The folder holds what `ctranslate2.converters.Converter` writes (model.bin, config.json and the vocabularies as
source_vocabulary.json / target_vocabulary.json, or shared_vocabulary.json when they are one), plus
tokenizers.json (enc2dec's tokenizer configs: `enc2dec.data.tokenize.load_tokenizers` reads it), source.spm and
target.spm (the raw SentencePiece models, when the model uses SentencePiece) and enc2dec_export.json (where the
model came from and its decoding settings).

How enc2dec's Transformer maps onto `TransformerSpec`:
- enc2dec's Linear stores weight as (n_in, n_out); CTranslate2's LinearSpec expects (n_out, n_in): transposed.
  The fused self-attention projection [q | k | v] (D, 3D) and the cross-attention [k | v] (D, 2D) are laid out
  head-major inside each block as CTranslate2's fused linear_0 / linear_1 are, so they transpose as they are.
- pre-LN or post-LN (`pre_norm`), the final LayerNorm of a pre-LN stack, ReLU or GELU (tanh approximation:
  `Activation.GELUTanh`), LayerNorm epsilon (config.layer_norm_epsilon).
- positions: enc2dec's sinusoids interleave sin and cos (PE[p, 2i] = sin, PE[p, 2i+1] = cos) where CTranslate2's
  built-in ones are two halves, so the table is always written out (`position_encodings.encodings`): the learned
  table as it is, sinusoids for max(max_positions, 1024) positions (the longest source or output it decodes).
- the embedding scale (sqrt(D), or 1 without `scale_embeddings`) as `scale_embeddings`; the output projection is
  the target embedding (V, D) with its bias when tied, else the transposed Linear.
- vocabularies: enc2dec's specials <pad>=0, <unk>=1, <s>=2, </s>=3 are CTranslate2's unk_token, bos_token and
  eos_token by name; decoding starts from <s> (decoder_start_token) and sources get no <s> or </s> added, as in
  enc2dec.

Decoding the same way (`translate_options`): CTranslate2 counts the maximum length in tokens, </s> included, as
enc2dec does, but for a whole batch: give it one source length at a time (or batches of equal lengths).
min_decoding_length=0 lets </s> come first, as in enc2dec. Beam scores are divided by length ** length_penalty,
</s> counted, in both. With length_penalty = 0 the searches are the same; with length_penalty > 0 they stop a
sentence by different rules (CTranslate2 once beam_size hypotheses have finished, enc2dec once no alive beam,
scored at its current length, ranks above the best finished one), so either may search on after the other
stopped and then return a longer, higher-ranked output.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.layers import TiedOutput
from enc2dec.specials import BOS_ID, EOS_ID, SPECIAL_TOKENS, UNK_ID

QUANTIZATIONS = ("int8", "int8_float32")
EXPORT_FILE = "enc2dec_export.json"
MIN_SINUSOID_POSITIONS = 1024  # CTranslate2's default max_input_length


def export_ctranslate2(model_dir: str | Path, out_dir: str | Path, quantization: str | None = None) -> Path:
    """Write the Transformer translation model of `model_dir` (a run folder or a checkpoint folder) as a
    CTranslate2 model folder `out_dir`, weights quantized when `quantization` is "int8" or "int8_float32".
    out_dir must be absent, empty or an earlier export (replaced as a whole). Returns out_dir."""
    from enc2dec import run
    from enc2dec.export import check_out_dir
    from enc2dec.files import replace_dir
    from enc2dec.models.transformer import Transformer

    if quantization is not None and quantization not in QUANTIZATIONS:
        raise ValueError(f"export: --quantization must be one of {list(QUANTIZATIONS)}, got {quantization!r}")
    out = check_out_dir(out_dir, EXPORT_FILE)
    converter = _converter()
    loaded = run.load(model_dir)
    model = getattr(loaded.trained, "model", None)
    if loaded.config.task != "translation" or not isinstance(model, Transformer):
        kind = f"{loaded.config.task} model" if loaded.config.task != "translation" else type(model).__name__
        raise ValueError(
            f"export --format ctranslate2: {loaded.directory} holds a {kind}; CTranslate2 runs the Transformer only"
        )
    translator = loaded.trained
    spec = transformer_spec(translator)

    def fill(tmp: Path) -> None:
        converter(spec).convert(str(tmp), quantization=quantization, force=True)
        _write_tokenizers(translator, tmp)
        info = {
            "format": "enc2dec.ctranslate2",
            "version": 1,
            "model": str(loaded.directory),
            "quantization": quantization,
            "max_target_length": model.max_target_length,
            "decoding": dataclasses.asdict(translator.decoding),
        }
        (tmp / EXPORT_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

    return replace_dir(out, fill)


def _converter() -> Any:
    """A CTranslate2 Converter whose model is a spec built here: convert() validates it, quantizes and saves."""
    try:
        from ctranslate2.converters.converter import Converter
    except ImportError:
        raise ValueError(
            "export --format ctranslate2 needs the ctranslate2 package: pip install 'enc2dec[export]'"
        ) from None

    class SpecConverter(Converter):
        def __init__(self, spec: Any):
            self._spec = spec

        def _load(self) -> Any:
            return self._spec

    return SpecConverter


def transformer_spec(translator: Any) -> Any:
    """A Translator holding an enc2dec Transformer -> a ctranslate2.specs.TransformerSpec with its weights set."""
    from ctranslate2.specs import common_spec, transformer_spec

    model = translator.model
    c = model.config
    activation = {"relu": common_spec.Activation.RELU, "gelu": common_spec.Activation.GELUTanh}[c.activation]
    spec = transformer_spec.TransformerSpec.from_config(
        (c.n_encoder_layers, c.n_decoder_layers), c.n_heads, pre_norm=c.pre_norm, activation=activation
    )
    cfg = spec.config
    cfg.unk_token, cfg.bos_token, cfg.eos_token = (SPECIAL_TOKENS[i] for i in (UNK_ID, BOS_ID, EOS_ID))
    cfg.decoder_start_token = SPECIAL_TOKENS[BOS_ID]
    cfg.add_source_bos = cfg.add_source_eos = False
    cfg.layer_norm_epsilon = float(model.encoder.layers[0].ff.norm.eps)

    _set_stack_inputs(spec.encoder, model.src_embed)
    spec.encoder.embeddings[0].weight = _array(model.src_embed.tokens.weight.value)
    for layer_spec, layer in zip(spec.encoder.layer, model.encoder.layers):
        _set_attention(layer_spec.self_attention, layer.self_attn, ("qkv", "out"))
        _set_ffn(layer_spec.ffn, layer.ff)
    _set_final_norm(spec.encoder, model.encoder)

    _set_stack_inputs(spec.decoder, model.tgt_embed)
    spec.decoder.embeddings.weight = _array(model.tgt_embed.tokens.weight.value)
    for layer_spec, layer in zip(spec.decoder.layer, model.decoder.layers):
        _set_attention(layer_spec.self_attention, layer.self_attn, ("qkv", "out"))
        _set_attention(layer_spec.attention, layer.cross_attn, ("q", "kv", "out"))
        _set_ffn(layer_spec.ffn, layer.ff)
    _set_final_norm(spec.decoder, model.decoder)
    _set_linear(spec.decoder.projection, model.output)

    spec.register_source_vocabulary(list(translator.src_vocab.itos))
    spec.register_target_vocabulary(list(translator.tgt_vocab.itos))
    return spec


def _array(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def _set_linear(spec: Any, linear: Any) -> None:
    """A Linear ((n_in, n_out) weight) or a TiedOutput ((V, D): the embedding's) -> spec's (n_out, n_in)."""
    spec.weight = _array(linear.weight.value if isinstance(linear, TiedOutput) else linear.weight.value.T)
    spec.bias = _array(linear.bias.value)


def _set_norm(spec: Any, norm: Any) -> None:
    spec.gamma = _array(norm.weight.value)
    spec.beta = _array(norm.bias.value)


def _set_attention(spec: Any, residual: Any, names: tuple[str, ...]) -> None:
    """A Residual around MultiHeadAttention: its LayerNorm, then its projections in CTranslate2's order."""
    _set_norm(spec.layer_norm, residual.norm)
    for linear_spec, name in zip(spec.linear, names):
        _set_linear(linear_spec, getattr(residual.sublayer, name))


def _set_ffn(spec: Any, residual: Any) -> None:
    _set_norm(spec.layer_norm, residual.norm)
    linears = residual.sublayer.layers  # Linear, activation, Dropout, Linear
    _set_linear(spec.linear_0, linears[0])
    _set_linear(spec.linear_1, linears[-1])


def _set_final_norm(spec: Any, stack: Any) -> None:
    if stack.final_norm is not None:  # pre-LN; the post-LN spec has no final norm
        _set_norm(spec.layer_norm, stack.final_norm)


def _set_stack_inputs(spec: Any, embed: Any) -> None:
    """The embedding scale and the position table of one side (see the module docstring)."""
    from enc2dec.attention.transformer_layers import sinusoid_table

    size = embed.tokens.weight.shape[1]
    spec.scale_embeddings = float(embed.scale) if not math.isclose(embed.scale, math.sqrt(size)) else True
    if embed.positions is not None:
        spec.position_encodings.encodings = _array(embed.positions.weight.value)
    else:
        spec.position_encodings.encodings = sinusoid_table(max(embed.max_positions, MIN_SINUSOID_POSITIONS), size)


def _write_tokenizers(translator: Any, folder: Path) -> None:
    from enc2dec.data.tokenize import SentencePieceTokenizer, tokenizers_to_dict

    text = json.dumps(tokenizers_to_dict(translator.src_tokenizer, translator.tgt_tokenizer), ensure_ascii=False)
    (folder / "tokenizers.json").write_text(text, encoding="utf-8")
    for name, tok in (("source.spm", translator.src_tokenizer), ("target.spm", translator.tgt_tokenizer)):
        if isinstance(tok, SentencePieceTokenizer):
            (folder / name).write_bytes(tok.model_proto)


def translate_options(
    decoding: Any, src_length: int, *, method: str | None = None, max_target_length: int | None = None
) -> dict[str, Any]:
    """Keyword arguments of ctranslate2.Translator.translate_batch that decode a source of `src_length` tokens as
    enc2dec does with `decoding` (a DecodeConfig; method: "beam" or "greedy", default its own): the same maximum
    length (int(max_len_a * src_length + max_len_b) tokens, </s> included, capped at max_target_length), beam size
    and length penalty (greedy: 0, so that scores are the sums of log-probabilities, as enc2dec's are). Refused,
    as CTranslate2 does them otherwise: the GNMT length penalty (it normalises by length ** alpha only), a minimum
    length and n-gram blocking (it bans before its softmax, so its beams rank otherwise; tested: most outputs
    differ)."""
    from enc2dec.decoding.state import max_lengths

    method = method or decoding.method
    if method not in ("beam", "greedy"):
        raise ValueError(f"translate_options: method must be 'beam' or 'greedy', got {method!r}")
    n = max_lengths(np.array([src_length], dtype=np.int64), decoding.max_len_a, decoding.max_len_b, max_target_length)
    beam = method == "beam"
    if beam and decoding.length_penalty_style != "avg" and decoding.length_penalty:
        raise ValueError(f"translate_options: CTranslate2 normalises scores by length ** alpha only, not by "
                         f"length_penalty_style {decoding.length_penalty_style!r}")  # fmt: skip
    if decoding.min_length or decoding.no_repeat_ngram:
        raise ValueError("translate_options: CTranslate2 applies min_length and no_repeat_ngram otherwise than "
                         "enc2dec; decode with enc2dec or its ONNX Runtime export, or set them to 0")  # fmt: skip
    return {
        "beam_size": decoding.beam_size if beam else 1,
        "length_penalty": decoding.length_penalty if beam else 0.0,
        "max_decoding_length": int(n[0]),
        "min_decoding_length": 0,
        "max_input_length": 0,  # no truncation: enc2dec reads whole sources
        "return_scores": True,
    }
