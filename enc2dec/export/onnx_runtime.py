"""Run an exported ONNX folder (see `enc2dec.export.onnx`) on onnxruntime, with enc2dec's own decoding.

    from enc2dec.decoding import beam_search
    from enc2dec.export import onnx_runtime
    model = onnx_runtime.load("exported/s2s")               # an OnnxStepModel: encode + step, nothing else
    hyps = beam_search(model, src_ids, src_lengths, beam_size=5)
    onnx_runtime.load_translator("exported/s2s").translate(["3 March 1999"])

    ae = onnx_runtime.load("exported/ae")                   # an OnnxAutoencoder
    codes = ae.encode(x); y = ae.decode(codes)

`OnnxStepModel` is a `StepModel` (STYLE.md section 7): its state is the decoder graph's state inputs as a dict of
arrays with batch on axis 0 (the decoder graph returns next_<name> for what changes, and attention weights;
what it only reads, such as the memory, is carried), so greedy_search, beam_search and sample run on it
unchanged; its max_source_length and max_target_length (a Transformer's learned positions) come from the
manifest's `limits`. onnxruntime is imported only here, when a folder is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.specials import DecoderState, by_sentence, group_by_sentence

MANIFEST = "manifest.json"
KINDS = ("dense", "step")


def _session(path: Path, threads: int | None) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError("running ONNX exports needs onnxruntime: pip install 'enc2dec[export]'") from err
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the graph named by {MANIFEST} is missing")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """An exported folder's manifest.json, checked for what the runtime reads."""
    from enc2dec.data.lines import read_json

    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: not an ONNX export folder (no {MANIFEST})")
    manifest = read_json(path)
    if not isinstance(manifest, dict) or manifest.get("kind") not in KINDS:
        got = manifest.get("kind") if isinstance(manifest, dict) else type(manifest).__name__
        raise ValueError(f"{path}: 'kind' must be one of {list(KINDS)}, got {got!r}")
    for graph in ("encoder", "decoder"):
        if not isinstance(manifest.get(graph), dict) or not isinstance(manifest[graph].get("file"), str):
            raise ValueError(f"{path}: '{graph}' must be an object with a 'file', got {manifest.get(graph)!r}")
    return manifest


class OnnxAutoencoder:
    """The encoder and decoder graphs of a dense autoencoder or VAE: encode (codes, the VAE's mean), decode (to
    data space), reconstruct."""

    def __init__(self, directory: str | Path, *, threads: int | None = None):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.encoder = _session(self.directory / self.manifest["encoder"]["file"], threads)
        self.decoder = _session(self.directory / self.manifest["decoder"]["file"], threads)

    def encode_outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """x: (N, n_in) -> every encoder output by name (codes; or mean and log_variance for a VAE)."""
        names = [o.name for o in self.encoder.get_outputs()]
        return dict(zip(names, self.encoder.run(names, {"x": np.ascontiguousarray(x, dtype=np.float32)})))

    def encode(self, x: np.ndarray) -> np.ndarray:
        """x: (N, n_in) -> codes: (N, C) (the VAE's posterior mean)."""
        return self.encoder.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """codes: (N, C) -> the reconstruction in data space: (N, n_in)."""
        return self.decoder.run(None, {"codes": np.ascontiguousarray(codes, dtype=np.float32)})[0]

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))


class OnnxStepModel:
    """encode(src_ids, src_lengths) -> state; step(prev_ids, state) -> (log_probs (B, V), state): a StepModel."""

    def __init__(self, directory: str | Path, *, threads: int | None = None):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.encoder = _session(self.directory / self.manifest["encoder"]["file"], threads)
        self.decoder = _session(self.directory / self.manifest["decoder"]["file"], threads)
        self.state_names = [o.name for o in self.encoder.get_outputs()]
        self._fed = [i.name for i in self.decoder.get_inputs() if i.name != "prev_ids"]
        self._returned = [o.name for o in self.decoder.get_outputs()]  # log_probs, next_<name>s, attention
        updated = {name.removeprefix("next_") for name in self._returned}
        self._carried = [name for name in self._fed if name not in updated]  # read, never changed: memory, mask
        self._shared = tuple(self.manifest.get("shared", ()))  # held once per sentence: the source side
        limits = self.manifest.get("limits") or {}  # a Transformer's learned positions end somewhere
        self.max_source_length: int | None = limits.get("max_source_length")
        self.max_target_length: int | None = limits.get("max_target_length")

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        feed = {
            "src_ids": src_ids.astype(np.int64, copy=False),
            "src_lengths": src_lengths.astype(np.int64, copy=False),
        }
        state = dict(zip(self.state_names, self.encoder.run(self.state_names, feed)))
        return by_sentence(state, self._shared) if self._shared else state  # as the model's encode

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        if self._shared:
            state = group_by_sentence(state, self._shared)
        feed = {"prev_ids": prev_ids.astype(np.int64, copy=False)}
        feed.update({name: np.ascontiguousarray(state[name][0] if name in self._shared else state[name])
                     for name in self._fed})  # fmt: skip
        log_probs, *outputs = self.decoder.run(self._returned, feed)
        new_state = {name: state[name] for name in self._carried + (["sentence"] if self._shared else [])}
        new_state.update({name.removeprefix("next_"): v for name, v in zip(self._returned[1:], outputs)})
        return log_probs, new_state

    def eval(self) -> OnnxStepModel:
        """Nothing to switch (a Translator calls it before decoding)."""
        return self


def load(directory: str | Path, *, threads: int | None = None) -> OnnxAutoencoder | OnnxStepModel:
    """An exported folder -> OnnxAutoencoder (kind dense) or OnnxStepModel (kind step). threads: onnxruntime's
    intra-op threads (None: its default, all cores)."""
    kind = read_manifest(directory)["kind"]
    return (OnnxAutoencoder if kind == "dense" else OnnxStepModel)(directory, threads=threads)


def load_translator(directory: str | Path, *, threads: int | None = None) -> Any:
    """An exported translation model -> an enc2dec Translator whose model is the OnnxStepModel: translate, n-best,
    sampling with the exported vocabularies, tokenizers and decoding settings."""
    from enc2dec.data.tokenize import load_tokenizers
    from enc2dec.data.vocab import Vocab
    from enc2dec.tasks.translation import VOCAB_FILES, DecodeConfig, Translator

    directory = Path(directory)
    manifest = read_manifest(directory)
    if "translation" not in manifest:
        raise ValueError(f"{directory / MANIFEST}: not a translation model (model_type {manifest.get('model_type')!r})")
    src_tok, tgt_tok = load_tokenizers(directory / VOCAB_FILES[2])
    decoding = DecodeConfig(**manifest["translation"]["decoding"])
    vocabs = [Vocab.load(directory / name) for name in VOCAB_FILES[:2]]
    return Translator(OnnxStepModel(directory, threads=threads), *vocabs, src_tok, tgt_tok, decoding)
