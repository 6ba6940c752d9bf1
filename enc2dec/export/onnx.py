"""Export trained models to ONNX graphs, built node by node with `onnx.helper` from the models' own weights.

    from enc2dec.export.onnx import export_onnx
    manifest = export_onnx("runs/ae", "exported/ae")   # encoder.onnx, decoder.onnx, manifest.json

The dense autoencoder family (autoencoder, denoising, sparse, contractive) gives an encoder graph x: (N, n_in) ->
codes: (N, C) and a decoder graph codes -> reconstruction: (N, n_in) in data space (the sigmoid of the logits for
a BCE model); the VAE's encoder gives mean and log_variance: (N, C) each, its decoder the Bernoulli or Gaussian
means. A Linear layer (weight (n_in, n_out)) is MatMul + Add; activations are ONNX's own operators (GELU, the tanh
approximation enc2dec uses, is written out).

The recurrent seq2seq (Sutskever et al.) gives an encoder graph src_ids: (B, S) int64, src_lengths: (B,) int64 ->
the decoder's initial state h (and c): (B, L, H), and a one-step decoder graph prev_ids: (B,), h (, c) ->
log_probs: (B, V), next_h (, next_c), using ONNX's LSTM, GRU and RNN operators with the gate blocks reordered
(enc2dec's LSTM is i, f, o, g, ONNX's i, o, f, c; enc2dec's GRU is r, z, n in PyTorch's formulation, ONNX's z, r, h
with linear_before_reset=1). The source is reversed within each length inside the graph as `Seq2Seq._encode`
does, and the encoder's `sequence_lens` keeps each sentence's final state at its own last token.

The attention seq2seq (Bahdanau; Luong with dot, general or concat scores and input feeding) is in
`onnx_attention.py`: its state adds memory, keys (projected once) and mask, which the decoder graph reads and the
runtime carries, and its decoder also returns the attention weights.

The Transformer is in `onnx_transformer.py`: an encoder graph giving the source mask and every decoder layer's
cross-attention keys and values (projected once), and a one-step decoder graph taking and returning the
self-attention key/value cache of every layer, named as `Transformer.step`'s state.

manifest.json names the model type, the opset, and each graph's file, inputs and outputs with their shapes (a
string is a dynamic axis); for a step model also the state's names (`state`, decoder output `next_<name>`).
`enc2dec.export.onnx_runtime.load` runs an exported folder. This module imports onnx only when called.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.layers import TiedOutput

OPSET = 17  # Split/Squeeze/Unsqueeze/Slice take their axes as inputs (13+); well within every current runtime
IR_VERSION = 8  # the IR of opset 17; newer onnx writes a newer IR by default that older runtimes refuse
MANIFEST = "manifest.json"
FLOAT, INT64, BOOL = (
    1,
    7,
    9,
)  # onnx.TensorProto.FLOAT, INT64, BOOL (kept as numbers so this module imports without onnx)


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as err:
        raise ImportError("ONNX export needs the onnx package: pip install 'enc2dec[export]'") from err
    return onnx


class Graph:
    """A graph under construction: `node` returns its output names, `const` adds an initializer."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self.io: dict[str, dict[str, list]] = {"inputs": {}, "outputs": {}}
        self._count = 0

    def _fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, array: np.ndarray, stem: str = "const") -> str:
        name = self._fresh(stem)
        array = np.asarray(array, order="C")  # not ascontiguousarray: it makes a scalar 1-D
        self.initializers.append(_onnx().numpy_helper.from_array(array, name))
        return name

    def ints(self, *values: int) -> str:
        return self.const(np.array(values, dtype=np.int64), "ints")

    def node(self, op: str, inputs: list[str], n_out: int = 1, outputs: list[str] | None = None, **attrs: Any):
        outputs = outputs or [self._fresh(op.lower()) for _ in range(n_out)]
        self.nodes.append(_onnx().helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def input(self, name: str, elem_type: int, shape: list) -> str:
        self.inputs.append(_onnx().helper.make_tensor_value_info(name, elem_type, shape))
        self.io["inputs"][name] = shape
        return name

    def output(self, value: str, name: str, elem_type: int, shape: list) -> None:
        self.node("Identity", [value], outputs=[name])
        self.outputs.append(_onnx().helper.make_tensor_value_info(name, elem_type, shape))
        self.io["outputs"][name] = shape

    def save(self, out_dir: Path) -> dict[str, Any]:
        """Check the model (onnx.checker, with shape inference) and write <name>.onnx -> its manifest entry."""
        onnx = _onnx()
        graph = onnx.helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = onnx.helper.make_model(
            graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="enc2dec", ir_version=IR_VERSION
        )
        onnx.checker.check_model(model, full_check=True)
        path = out_dir / f"{self.name}.onnx"
        onnx.save(model, str(path))
        return {"file": path.name, **self.io}


# -- dense encoder-decoders ---------------------------------------------------------------------------------------
def _projection(g: Graph, x: str, layer: Any) -> str:
    """x W + b: a Linear with a bias (W (D, n)) or a TiedOutput (x E^T + b, E (V, D), an output projection)."""
    weight = layer.weight.value.T if isinstance(layer, TiedOutput) else layer.weight.value  # (D, n)
    y = g.node("MatMul", [x, g.const(np.ascontiguousarray(weight), "weight")])
    return g.node("Add", [y, g.const(layer.bias.value, "bias")])


def _dense_stack(g: Graph, x: str, stack: Any) -> str:
    """The layers of a Sequential (Linear, activations, Dropout as the identity) applied to x."""
    from enc2dec.layers import GELU, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Tanh

    for layer in stack.layers:
        if isinstance(layer, Dropout):  # identity in eval mode
            continue
        if isinstance(layer, Linear):
            x = g.node("MatMul", [x, g.const(layer.weight.value, "weight")])
            if layer.bias is not None:
                x = g.node("Add", [x, g.const(layer.bias.value, "bias")])
        elif isinstance(layer, (Sigmoid, Tanh, ReLU)):
            x = g.node({Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu"}[type(layer)], [x])
        elif isinstance(layer, LeakyReLU):
            x = g.node("LeakyRelu", [x], alpha=float(layer.negative_slope))
        elif isinstance(layer, GELU):
            x = _gelu(g, x)
        else:
            raise TypeError(f"ONNX export: no ONNX form for layer {layer!r} in {type(stack).__name__}")
    return x


def _gelu(g: Graph, x: str) -> str:
    """0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as enc2dec.nn.functional.gelu."""
    f = lambda v: g.const(np.array(v, dtype=np.float32))  # noqa: E731
    cube = g.node("Mul", [g.node("Mul", [x, x]), x])
    inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [cube, f(0.044715)])]), f(np.sqrt(2 / np.pi))])
    return g.node("Mul", [g.node("Mul", [x, f(0.5)]), g.node("Add", [g.node("Tanh", [inner]), f(1.0)])])


def export_dense(model: Any, out_dir: str | Path) -> dict[str, Any]:
    """An EncoderDecoder (autoencoder family) or VAE -> encoder.onnx and decoder.onnx in out_dir; their manifest
    entries. The decoder's output is in data space (sigmoid of logits for BCE and Bernoulli decoders)."""
    from enc2dec.losses import BCEWithLogits
    from enc2dec.models.vae import VAE

    out = Path(out_dir)
    n_in = model.encoder.layers[0].weight.shape[0]
    is_vae = isinstance(model, VAE)
    C = model.context_size if is_vae else model.decoder.layers[0].weight.shape[0]
    g = Graph("encoder")
    h = _dense_stack(g, g.input("x", FLOAT, ["N", n_in]), model.encoder)
    if is_vae:  # the last layer's 2C units: mean, then log-variance
        g.output(g.node("Slice", [h, g.ints(0), g.ints(C), g.ints(1)]), "mean", FLOAT, ["N", C])
        g.output(g.node("Slice", [h, g.ints(C), g.ints(2 * C), g.ints(1)]), "log_variance", FLOAT, ["N", C])
    else:
        g.output(h, "codes", FLOAT, ["N", C])
    encoder = g.save(out)
    g = Graph("decoder")
    y = _dense_stack(g, g.input("codes", FLOAT, ["N", C]), model.decoder)
    bernoulli = model.decoder_kind == "bernoulli" if is_vae else isinstance(model.loss, BCEWithLogits)
    g.output(g.node("Sigmoid", [y]) if bernoulli else y, "reconstruction", FLOAT, ["N", n_in])
    return {"encoder": encoder, "decoder": g.save(out)}


# -- recurrent seq2seq --------------------------------------------------------------------------------------------
def _blocks(w: np.ndarray, order: tuple[int, ...], H: int) -> np.ndarray:
    """The gate blocks of a fused (..., G*H) array taken in `order` (enc2dec block indices)."""
    return np.concatenate([w[..., k * H : (k + 1) * H] for k in order], axis=-1)


# ONNX operator and the enc2dec gate blocks in ONNX's order: LSTM i, o, f, c <- i, f, o, g; GRU z, r, h <- r, z, n
_OPS = {"lstm": ("LSTM", (0, 2, 1, 3)), "gru": ("GRU", (1, 0, 2)), "rnn": ("RNN", (0,))}


def _cell_inputs(g: Graph, block: Any, cell: str) -> tuple[list[str], dict[str, Any]]:
    """W, R, B initializers of one recurrent layer (or a Bidirectional pair, forward then reverse) in ONNX's
    layout: W (D, G*H, E), R (D, G*H, H), B (D, 2*G*H)."""
    from enc2dec.recurrent import Bidirectional

    layers = [block.forward_layer, block.reverse_layer] if isinstance(block, Bidirectional) else [block]
    H = layers[0].hidden_size
    op, order = _OPS[cell]
    w, r, b = [], [], []
    for layer in layers:
        w.append(_blocks(layer.w_x.value, order, H).T)
        r.append(_blocks(layer.w_h.value, order, H).T)
        wb = _blocks(layer.bias.value, order, H)
        rb = np.zeros_like(wb)
        if cell == "gru":  # the candidate's recurrent bias sits inside the reset gate's product
            rb[2 * H :] = layer.bias_hn.value
        b.append(np.concatenate([wb, rb]))
    attrs: dict[str, Any] = {"hidden_size": H, "direction": "bidirectional" if len(layers) == 2 else "forward"}
    if cell == "gru":
        attrs["linear_before_reset"] = 1  # enc2dec's (PyTorch's) GRU: r * (h w_h[n] + bias_hn)
    return [g.const(np.stack(v), f"{op}_{k}") for v, k in ((w, "W"), (r, "R"), (b, "B"))], attrs


def _stack(g: Graph, x: str, stack: Any, lengths: str, initial: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
    """x: (T, B, E) through the layers of a Stacked; initial: per state name, each layer's (D, B, H) or none
    -> (top layer's Y: (T, B, D*H), final states per name as (L*D, B, H), row l*D + d as Stacked's)."""
    op = _OPS[stack.cell][0]
    names = ["h", "c"] if stack.has_cell else ["h"]
    finals: dict[str, list[str]] = {name: [] for name in names}
    for i, layer in enumerate(stack.layers):
        weights, attrs = _cell_inputs(g, layer, stack.cell)
        states = [initial[name][i] if initial else "" for name in names]
        outs = g.node(op, [x, *weights, lengths, *states], n_out=1 + len(names), **attrs)
        y = g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])  # Y: (T, D, B, H) -> (T, B, D, H)
        x = g.node("Reshape", [y, g.ints(0, 0, -1)])  # (T, B, D*H): [forward; reverse]
        for name, out in zip(names, outs[1:]):
            finals[name].append(out)  # (D, B, H)
    joined = {name: parts[0] if len(parts) == 1 else g.node("Concat", parts, axis=0) for name, parts in finals.items()}
    return x, joined


def _batch_major(g: Graph, state: str) -> str:
    return g.node("Transpose", [state], perm=[1, 0, 2])  # (L, B, H) <-> (B, L, H)


def _reverse_within_lengths(g: Graph, ids: str, lengths: str) -> str:
    """ids: (B, S), lengths: (B,) -> each row's first lengths[b] ids reversed, padding left at the end."""
    S = g.node("Gather", [g.node("Shape", [ids]), g.const(np.array(1, dtype=np.int64))])
    t = g.node("Unsqueeze", [g.node("Range", [g.const(np.array(0, dtype=np.int64)), S,
                                              g.const(np.array(1, dtype=np.int64))]), g.ints(0)])  # (1, S)  # fmt: skip
    n = g.node("Unsqueeze", [lengths, g.ints(1)])  # (B, 1)
    back = g.node("Sub", [g.node("Sub", [n, g.const(np.array(1, dtype=np.int64))]), t])  # n - 1 - t
    index = g.node("Where", [g.node("Less", [t, n]), back, g.node("Expand", [t, g.node("Shape", [ids])])])
    return g.node("GatherElements", [ids, index], axis=1)


def export_seq2seq(model: Any, out_dir: str | Path) -> dict[str, Any]:
    """A Seq2Seq (lstm, gru or rnn cells) -> encoder.onnx and decoder.onnx (one step) in out_dir; their entries."""
    out = Path(out_dir)
    enc, dec = model.encoder, model.decoder
    L, H = dec.n_layers, dec.hidden_size
    V = model.output.bias.shape[0]
    names = ["h", "c"] if dec.has_cell else ["h"]

    g = Graph("encoder")
    src = g.input("src_ids", INT64, ["B", "S"])
    lengths = g.input("src_lengths", INT64, ["B"])
    if model.config.reverse_source:
        src = _reverse_within_lengths(g, src, lengths)
    x = g.node("Gather", [g.const(model.src_embed.weight.value, "src_embed"), g.node("Transpose", [src], perm=[1, 0])])
    _, finals = _stack(g, x, enc, g.node("Cast", [lengths], to=6), {})  # sequence_lens: int32
    for name in names:
        g.output(_batch_major(g, finals[name]), name, FLOAT, ["B", L, H])
    encoder = g.save(out)

    g = Graph("decoder")
    prev = g.input("prev_ids", INT64, ["B"])
    x = g.node("Unsqueeze", [g.node("Gather", [g.const(model.tgt_embed.weight.value, "tgt_embed"), prev]), g.ints(0)])
    initial = {}
    for name in names:
        s = _batch_major(g, g.input(name, FLOAT, ["B", L, H]))  # (L, B, H)
        initial[name] = [g.node("Slice", [s, g.ints(i), g.ints(i + 1), g.ints(0)]) for i in range(L)]
    y, finals = _stack(g, x, dec, "", initial)
    logits = _projection(g, g.node("Squeeze", [y, g.ints(0)]), model.output)
    g.output(g.node("LogSoftmax", [logits], axis=1), "log_probs", FLOAT, ["B", V])
    for name in names:
        g.output(_batch_major(g, finals[name]), f"next_{name}", FLOAT, ["B", L, H])
    return {"encoder": encoder, "decoder": g.save(out), "state": names}


# -- a model, a saved model --------------------------------------------------------------------------------------
def _exporter(model: Any, model_type: str | None) -> tuple[str, Any]:
    """(manifest kind, graph writer) for a model; ValueError for a family not exported yet."""
    from enc2dec.export.onnx_attention import export_attention_seq2seq
    from enc2dec.export.onnx_transformer import export_transformer
    from enc2dec.models.attention_seq2seq import AttentionSeq2Seq
    from enc2dec.models.dense import EncoderDecoder
    from enc2dec.models.seq2seq import Seq2Seq
    from enc2dec.models.transformer import Transformer

    if isinstance(model, EncoderDecoder):
        return "dense", export_dense
    if isinstance(model, Seq2Seq):
        return "step", export_seq2seq
    if isinstance(model, AttentionSeq2Seq):
        return "step", export_attention_seq2seq
    if isinstance(model, Transformer):
        return "step", export_transformer
    raise ValueError(
        "ONNX export covers the dense autoencoders, the VAE, seq2seq, attention_seq2seq and transformer so far, "
        f"got {model_type or type(model).__name__}"
    )


def export_model(
    model: Any,
    out_dir: str | Path,
    *,
    model_type: str | None = None,
    add: Callable[[Path], dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A model object -> its graphs and manifest.json (with `extra` entries) in out_dir; the manifest. The folder
    is built fresh and swapped in whole (enc2dec.files.replace_dir): out_dir must be absent, empty or an earlier
    ONNX export. add(folder) -> more manifest entries: writes more files into the new folder first."""
    from enc2dec.export import check_out_dir
    from enc2dec.files import replace_dir

    kind, export = _exporter(model, model_type)
    out = check_out_dir(out_dir, MANIFEST)
    manifest: dict[str, Any] = {}

    def fill(tmp: Path) -> None:
        more = add(tmp) if add is not None else {}
        manifest.update(format="onnx", opset=OPSET, model_type=model_type or type(model).__name__, kind=kind,
                        **export(model, tmp), **extra, **more)  # fmt: skip
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")

    replace_dir(out, fill)
    return manifest


def export_onnx(model_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """A run or checkpoint folder -> ONNX graphs and manifest.json in out_dir (replaced whole); returns the manifest.
    Translation models also get their vocabularies and tokenizers copied, so the folder translates on its own."""
    from enc2dec import run
    from enc2dec.tasks.registry import model_types

    loaded = run.load(model_dir)
    translation = loaded.config.task == "translation"
    model = loaded.trained.model if translation else loaded.trained
    type_name = next(n for n, t in model_types().items() if type(loaded.config.model) is t.config)
    try:
        _exporter(model, type_name)
    except ValueError as err:
        raise ValueError(f"{model_dir}: {err}") from None

    def text_files(tmp: Path) -> dict[str, Any]:
        return {"translation": _copy_text_files(loaded, tmp)}

    return export_model(model, out_dir, model_type=type_name, add=text_files if translation else None)


def _copy_text_files(loaded: Any, out: Path) -> dict[str, Any]:
    """Vocabularies, tokenizers (SentencePiece models inside) and the decoding settings of a translation model, for the runtime's Translator."""
    import dataclasses
    import shutil

    from enc2dec.tasks.translation import VOCAB_FILES

    for name in VOCAB_FILES:
        shutil.copyfile(loaded.directory / name, out / name)
    return {"files": list(VOCAB_FILES), "decoding": dataclasses.asdict(loaded.config.decoding)}
