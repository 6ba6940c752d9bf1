"""A lexical shortlist of target tokens (Marian's `--shortlist`, CTranslate2's vocabulary map): each batch is
decoded over the target tokens likely for its sources only, so the output projection computes C columns, not V.

The shortlist of a batch: the F most frequent target tokens of the training pairs (the specials included), and,
for each source token in the batch, the k target tokens that co-occur with it most often in a training pair
relative to the source token's count, an estimate of p(target token in the pair | source token in the pair).
Log-probabilities are normalized over the shortlist; no other token can be emitted: an approximation whose BLEU
cost is measured beside its speed (benchmarks/perf.py), not an exact method.

    shortlist = build_shortlist(train_src_ids, train_tgt_ids, src_vocab_size, tgt_vocab_size)
    decode_all(model, src, shortlist=shortlist)  # each batch over shortlist.columns(batch): Shortlisted

Decoding runs in the shortlist's own ids (C of them), so the projection, the log-softmax and the searches' top-k
all work on C columns; decode_all maps forced prefixes in and hypotheses out.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.decoding.ensemble import Ensemble
from enc2dec.decoding.state import DecoderState, Hypothesis, StepModel, length_limits
from enc2dec.specials import SPECIAL_TOKENS

_FORMAT = "enc2dec-shortlist"


def vocab_fingerprint(*itos: Sequence[str]) -> str:
    """sha256 of the vocabularies' token lists: a shortlist belongs to the model whose vocabularies give this."""
    return hashlib.sha256(json.dumps([list(x) for x in itos], ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Shortlist:
    frequent: np.ndarray  # (F,) int64 target ids, always kept
    table: np.ndarray  # (V_src, k) int64 target ids per source id, best first; -1 pads a short row
    tgt_vocab_size: int
    fingerprint: str = ""  # vocab_fingerprint(src itos, tgt itos) of the model it was built for

    def columns(self, src_ids: np.ndarray, src_lengths: np.ndarray, also: Sequence[int] = ()) -> np.ndarray:
        """src_ids: (B, S) padded, src_lengths: (B,) -> (C,) int64: the batch's target ids (and `also`), sorted,
        unique."""
        real = np.arange(src_ids.shape[1])[None, :] < np.asarray(src_lengths)[:, None]  # (B, S)
        ids = np.unique(src_ids[real])
        if len(ids) and ids[-1] >= len(self.table):
            raise ValueError(f"Shortlist: source id {ids[-1]} is outside its {len(self.table)} source tokens")
        candidates = self.table[ids].reshape(-1)
        found = np.concatenate([candidates[candidates >= 0], np.asarray(also, dtype=np.int64)])
        return np.union1d(self.frequent, found)

    def save(self, path: str | Path) -> Path:
        from enc2dec.training.checkpoint import save_arrays, save_json

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_arrays(path / "shortlist.safetensors", {"frequent": self.frequent, "table": self.table})
        save_json(path / "shortlist.json", {"format": _FORMAT, "tgt_vocab_size": self.tgt_vocab_size,
                                            "fingerprint": self.fingerprint})  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | Path) -> Shortlist:
        """A folder written by save (`enc2dec shortlist`); a damaged or foreign one is a ValueError naming it."""
        from enc2dec.training.checkpoint import load_arrays, load_json

        path = Path(path)
        meta = load_json(path / "shortlist.json")
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{path / 'shortlist.json'}: not an enc2dec shortlist (written by `enc2dec shortlist`)")
        arrays = load_arrays(path / "shortlist.safetensors")
        frequent, table, size = arrays.get("frequent"), arrays.get("table"), meta.get("tgt_vocab_size")
        if (
            frequent is None or table is None or frequent.ndim != 1 or table.ndim != 2 or not isinstance(size, int)
            or frequent.dtype != np.int64 or table.dtype != np.int64
            or not ((0 <= frequent) & (frequent < size)).all() or not ((-1 <= table) & (table < size)).all()
        ):  # fmt: skip
            raise ValueError(f"{path}: the shortlist arrays are damaged (expected ids in [0, tgt_vocab_size))")
        return cls(frequent, table, size, str(meta.get("fingerprint", "")))


def build_shortlist(src: Sequence[Sequence[int]], tgt: Sequence[Sequence[int]], src_vocab_size: int,
                    tgt_vocab_size: int, *, n_frequent: int = 200, per_source: int = 20,
                    fingerprint: str = "") -> Shortlist:  # fmt: skip
    """From aligned training pairs of token ids: the n_frequent most frequent target ids (the specials always)
    and, per source id, the per_source target ids outside them with the highest count(s and t in one pair) /
    count(s in a pair); ties by the lower id."""
    if n_frequent < 0 or per_source < 0:
        raise ValueError(f"build_shortlist: n_frequent and per_source must be >= 0, got {n_frequent}, {per_source}")
    if len(src) != len(tgt):
        raise ValueError(f"build_shortlist: {len(src)} source sentences for {len(tgt)} targets")
    ids = lambda x: np.unique(np.asarray(x, dtype=np.int64))  # noqa: E731
    counts = np.bincount(np.concatenate([np.asarray(t, dtype=np.int64) for t in tgt] or [np.zeros(0, np.int64)]),
                         minlength=tgt_vocab_size)  # fmt: skip
    by_count = np.lexsort((np.arange(tgt_vocab_size), -counts))  # most frequent first, then the lower id
    frequent = np.union1d(np.arange(len(SPECIAL_TOKENS)), by_count[:n_frequent])

    # co-occurrence of (source id, target id) within a pair, each counted once per pair
    codes = [np.add.outer(ids(s) * tgt_vocab_size, ids(t)).reshape(-1) for s, t in zip(src, tgt)]
    pairs, pair_counts = np.unique(np.concatenate(codes) if codes else np.zeros(0, np.int64), return_counts=True)
    s_ids, t_ids = pairs // tgt_vocab_size, pairs % tgt_vocab_size
    keep = ~np.isin(t_ids, frequent)
    s_ids, t_ids, pair_counts = s_ids[keep], t_ids[keep], pair_counts[keep]
    src_counts = np.bincount(np.concatenate([ids(s) for s in src] or [np.zeros(0, np.int64)]), minlength=src_vocab_size)
    score = pair_counts / np.maximum(src_counts[s_ids], 1)
    order = np.lexsort((t_ids, -score, s_ids))  # by source id, best score first, then the lower target id
    s_ids, t_ids = s_ids[order], t_ids[order]
    first = np.searchsorted(s_ids, s_ids)  # index of each source id's first entry
    rank = np.arange(len(s_ids)) - first
    table = np.full((src_vocab_size, per_source), -1, dtype=np.int64)
    top = rank < per_source
    table[s_ids[top], rank[top]] = t_ids[top]
    return Shortlist(frequent.astype(np.int64), table, tgt_vocab_size, fingerprint)


class _RestrictedOutput:
    """An output layer (Linear or TiedOutput: n_out, columns) computing only `columns`: apply(x): (N, D) ->
    (N, C) logits. Inference only."""

    def __init__(self, output: Any, columns: np.ndarray):
        self.weight, self.bias = output.columns(columns)  # (D, C), (C,) or None

    def apply(self, x: np.ndarray) -> np.ndarray:
        y = (x.reshape(-1, x.shape[-1]) @ self.weight).reshape(*x.shape[:-1], -1)  # (..., C)
        if self.bias is not None:
            y += self.bias
        return y


class Shortlisted:
    """`model` (an enc2dec sequence model or an Ensemble of them) as a StepModel over the target tokens `columns`
    only: token i of its outputs, inputs and log-probabilities (C of them, normalized over the shortlist) is target
    token columns[i]. The specials (ids 0..3) must be in `columns`, where they keep their ids, so searches use
    bos and eos unchanged; `to_target` maps their outputs back. The model itself is not changed: a shallow copy
    of it (of each member) holds the restricted output layer."""

    def __init__(self, model: StepModel, columns: np.ndarray):
        n_specials = len(SPECIAL_TOKENS)
        if not np.array_equal(columns[:n_specials], np.arange(n_specials)) or np.any(np.diff(columns) <= 0):
            raise ValueError("Shortlisted: columns must be sorted, unique and hold the special ids 0..3")
        members = model.models if isinstance(model, Ensemble) else [model]
        copies = []
        for m in members:
            if not hasattr(getattr(m, "output", None), "columns"):
                raise TypeError(f"Shortlisted: {type(m).__name__} has no output layer to restrict (enc2dec models do)")
            if columns[-1] >= m.output.n_out:
                raise ValueError(f"Shortlisted: target id {columns[-1]} is outside the model's {m.output.n_out}")
            c = copy.copy(m)
            c.output = _RestrictedOutput(m.output, columns)
            copies.append(c)
        self.columns = columns
        self.model = Ensemble(copies) if isinstance(model, Ensemble) else copies[0]
        self.max_source_length, self.max_target_length = length_limits(model)

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        return self.model.encode(src_ids, src_lengths)

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        """prev_ids: (N,) shortlist ids -> log_probs (N, C) over the shortlist, the model's next state."""
        return self.model.step(self.columns[prev_ids], state)

    def from_target(self, ids: Sequence[int]) -> list[int]:
        """Target ids (all in the shortlist) -> shortlist ids."""
        return np.searchsorted(self.columns, np.asarray(ids, dtype=np.int64)).tolist()

    def to_target(self, hyp: Hypothesis) -> Hypothesis:
        """A hypothesis of shortlist ids -> the same one in target ids."""
        return dataclasses.replace(hyp, tokens=self.columns[np.asarray(hyp.tokens, dtype=np.int64)].tolist())
