"""The decoding contract: `StepModel`, `DecoderState`, `Hypothesis`, and the checks every search shares.

Decoding is written once (STYLE.md section 7): `greedy_search`, `beam_search` and `sample` call only
`model.encode` and `model.step`, and treat the state as a dict of arrays with batch (or batch x beam) on axis 0.
Selecting rows (reordering beams, dropping finished sentences) is `select_rows`; expanding to K beams is
`repeat_rows`. Both work for LSTM states, attention memory and KV caches alike. An array whose rows are one and
the same (a read-only broadcast view, stride 0 on axis 0: data of the whole batch, such as the Transformer's
source keys, shared by every hypothesis) stays such a view: its rows are never copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from enc2dec.specials import BOS_ID, EOS_ID, PAD_ID, DecoderState, share_rows  # noqa: F401  (re-exported)


class StepModel(Protocol):
    """What every sequence model offers to decoding, and all that decoding knows about it.

    A model may also have `max_source_length` and `max_target_length` (int, or None for unlimited), the longest
    source it reads and the most decoder steps (tokens, eos included) it can take, e.g. a Transformer with a table
    of learned positions. Decoding reads them with `length_limits`; a model without them is unlimited."""

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        """src_ids: (B, S) int64, src_lengths: (B,) int64 -> the initial decoder state, B rows per array."""
        ...

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        """prev_ids: (B,) int64 -> log_probs: (B, V) float32, new state. Caches nothing for backward.

        The state may hold "attention": (B, S), the attention weights of this step; decoding collects them.
        """
        ...


@dataclass
class Hypothesis:
    """One decoded output sequence.

    tokens: output ids without bos and eos. score: sum of the model's log-probabilities of the emitted tokens,
    eos included when emitted. attention: (n_emitted, S_i) float, one row per emitted token (eos included), columns
    cut to this sentence's source length S_i; None when the model puts no "attention" in its state.
    reached_eos: False when the hypothesis was cut at the maximum length (then no eos is emitted or scored).
    """

    tokens: list[int]
    score: float
    attention: np.ndarray | None = None
    reached_eos: bool = True

    @property
    def n_emitted(self) -> int:
        """Number of log-probabilities summed in `score`: the tokens, plus eos when emitted."""
        return len(self.tokens) + int(self.reached_eos)

    def normalized_score(self, alpha: float, style: str = "avg") -> float:
        """The key beam search ranks by: normalize(score, n_emitted, alpha, style)."""
        return float(normalize(self.score, self.n_emitted, alpha, style))

    def __eq__(self, other: object) -> bool:
        """Field by field, attention compared as arrays (the generated __eq__ would ask an array for its truth)."""
        if not isinstance(other, Hypothesis):
            return NotImplemented
        a, b = self.attention, other.attention
        same_attention = (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
        return (self.tokens, self.score, self.reached_eos) == (
            other.tokens,
            other.score,
            other.reached_eos,
        ) and same_attention


LENGTH_PENALTY_STYLES = ("avg", "gnmt")


def normalize(score: float | np.ndarray, length: int | np.ndarray, alpha: float,
              style: str = "avg") -> float | np.ndarray:  # fmt: skip
    """Length normalisation: style "avg", score / length ** alpha (fairseq's lenpen; alpha = 1, the mean
    log-probability); style "gnmt", score / ((5 + length) / 6) ** alpha (Wu et al. 2016, eq. 14). alpha = 0 leaves
    the sum of log-probabilities unchanged."""
    if alpha == 0:
        return score
    if style == "gnmt":
        return score / np.power((5.0 + np.asarray(length, dtype=np.float64)) / 6.0, alpha)
    return score / np.power(length, alpha, dtype=np.float64)


def check_source(where: str, src_ids: np.ndarray, src_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """src_ids: (B, S) integer, src_lengths: (B,) integer in [1, S] -> both as int64."""
    if not isinstance(src_ids, np.ndarray) or not np.issubdtype(src_ids.dtype, np.integer):
        got = src_ids.dtype if isinstance(src_ids, np.ndarray) else type(src_ids).__name__
        raise TypeError(f"{where}: src_ids must be an integer array (B, S), got {got}")
    if src_ids.ndim != 2:
        raise ValueError(f"{where}: src_ids must have shape (B, S), got {src_ids.shape}")
    if not isinstance(src_lengths, np.ndarray) or not np.issubdtype(src_lengths.dtype, np.integer):
        got = src_lengths.dtype if isinstance(src_lengths, np.ndarray) else type(src_lengths).__name__
        raise TypeError(f"{where}: src_lengths must be an integer array (B,), got {got}")
    B, S = src_ids.shape
    if src_lengths.shape != (B,):
        raise ValueError(f"{where}: src_lengths must have shape (B,) = ({B},) like src_ids, got {src_lengths.shape}")
    if B and (src_lengths.min() < 1 or src_lengths.max() > S):
        raise ValueError(
            f"{where}: src_lengths must lie in [1, S={S}], got min {src_lengths.min()}, max {src_lengths.max()}"
        )
    return src_ids.astype(np.int64, copy=False), src_lengths.astype(np.int64, copy=False)


def check_max_len(where: str, max_len_a: float, max_len_b: float) -> None:
    if not max_len_a >= 0:
        raise ValueError(f"{where}: max_len_a must be >= 0, got {max_len_a}")
    if not np.isfinite(max_len_b):
        raise ValueError(f"{where}: max_len_b must be finite, got {max_len_b}")


def length_limits(model: object) -> tuple[int | None, int | None]:
    """(max_source_length, max_target_length) of a model, None where it has no limit (or no such attribute)."""
    return getattr(model, "max_source_length", None), getattr(model, "max_target_length", None)


def check_source_limit(where: str, model: object, src_lengths: np.ndarray) -> None:
    """Refuse a batch holding a source longer than the model reads (decode_all reports such sentences instead)."""
    limit = length_limits(model)[0]
    if limit is not None and len(src_lengths) and src_lengths.max() > limit:
        i = int(src_lengths.argmax())
        raise ValueError(
            f"{where}: source {i} has {src_lengths[i]} tokens, the model reads at most {limit} (max_source_length)"
        )


def max_lengths(src_lengths: np.ndarray, max_len_a: float, max_len_b: float, limit: int | None = None) -> np.ndarray:
    """src_lengths: (B,) -> (B,) int64, at least 1: the most decoder steps (tokens, eos included) per sentence,
    int(max_len_a * src_len + max_len_b), capped at limit (the model's max_target_length) unless None."""
    n = (max_len_a * src_lengths + max_len_b).astype(np.int64)  # int() truncates toward zero, like astype
    if limit is not None:
        n = np.minimum(n, limit)
    return np.maximum(n, 1)


def check_log_probs(where: str, log_probs: np.ndarray, n_rows: int, eos_id: int) -> None:
    """log_probs returned by model.step must be (n_rows, V) float with eos_id < V."""
    if not isinstance(log_probs, np.ndarray) or log_probs.ndim != 2 or log_probs.shape[0] != n_rows:
        got = log_probs.shape if isinstance(log_probs, np.ndarray) else type(log_probs).__name__
        raise ValueError(f"{where}: model.step must return log_probs of shape ({n_rows}, V), got {got}")
    if not eos_id < log_probs.shape[1]:
        raise ValueError(f"{where}: eos_id={eos_id} is not a token of the model's vocabulary (V={log_probs.shape[1]})")


def check_state(where: str, state: DecoderState, n_rows: int) -> None:
    """Every array of the state must have n_rows on axis 0, or reordering would silently mix sentences."""
    if not isinstance(state, dict):
        raise TypeError(f"{where}: the model's state must be a dict of arrays, got {type(state).__name__}")
    for key, v in state.items():
        if not isinstance(v, np.ndarray) or v.ndim == 0 or v.shape[0] != n_rows:
            got = v.shape if isinstance(v, np.ndarray) else type(v).__name__
            raise ValueError(f"{where}: state[{key!r}] must have {n_rows} rows on axis 0, got {got}")


def select_rows(state: DecoderState, index: np.ndarray) -> DecoderState:
    """The one generic reorder: index: (N',) int or (N,) bool -> every array's rows taken in that order."""
    n = int(np.count_nonzero(index)) if index.dtype == bool else len(index)
    return {k: _shared(v, n) if _is_shared(v) else v[index] for k, v in state.items()}


def repeat_rows(state: DecoderState, k: int) -> DecoderState:
    """(B, ...) -> (B * k, ...): row b becomes rows b*k .. b*k + k-1 (sentence-major, beams adjacent)."""
    return {key: _shared(v, len(v) * k) if _is_shared(v) else np.repeat(v, k, axis=0) for key, v in state.items()}


def _is_shared(v: np.ndarray) -> bool:
    return v.ndim > 0 and v.strides[0] == 0 and len(v) > 0


def _shared(v: np.ndarray, n_rows: int) -> np.ndarray:
    return share_rows(v[0], n_rows)
