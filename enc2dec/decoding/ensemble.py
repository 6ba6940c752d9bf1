"""An ensemble of sequence models as one StepModel: each step, the log of the models' mean probability of the
next token (the ensembles of fairseq and OpenNMT-py), so greedy search, beam search and sampling decode an
ensemble as they decode one model.

    log p(y_t | ...) = log( (1/M) sum_m p_m(y_t | ...) ) = logsumexp_m(log p_m) - log M

The state is every member's state side by side, each key prefixed with the member's index ("0.h", "1.cache", ...):
one dict of arrays with batch rows on axis 0, so the searches reorder and expand it like any other. The members
must read the same source ids and predict over the same target vocabulary (the caller checks the vocabularies).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from enc2dec.decoding.state import DecoderState, StepModel, length_limits
from enc2dec.nn import functional


class Ensemble:
    """models: M >= 1 StepModels over one target vocabulary."""

    def __init__(self, models: Sequence[StepModel]):
        if not models:
            raise ValueError("Ensemble: needs at least one model")
        self.models = list(models)
        limits = [length_limits(m) for m in self.models]
        self.max_source_length = _smallest(lim[0] for lim in limits)
        self.max_target_length = _smallest(lim[1] for lim in limits)

    def eval(self) -> Ensemble:
        for m in self.models:
            m.eval()
        return self

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        state: DecoderState = {}
        for i, m in enumerate(self.models):
            state.update({f"{i}.{k}": v for k, v in m.encode(src_ids, src_lengths).items()})
        return state

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        """prev_ids: (N,) -> log-probabilities (N, V) float32 of the mean distribution, and the members' states."""
        new: DecoderState = {}
        log_probs, attention = [], []
        for i, m in enumerate(self.models):
            mine = {k[len(f"{i}.") :]: v for k, v in state.items() if k.startswith(f"{i}.")}
            lp, out = m.step(prev_ids, mine)
            if log_probs and lp.shape != log_probs[0].shape:
                raise ValueError(
                    f"Ensemble: model {i} gives {lp.shape[1]} target tokens, model 0 {log_probs[0].shape[1]}"
                )
            log_probs.append(lp)
            if "attention" in out:
                attention.append(out["attention"])
            new.update({f"{i}.{k}": v for k, v in out.items() if k != "attention"})
        if attention:  # the mean over the members that attend
            new["attention"] = np.mean(attention, axis=0)
        if len(log_probs) == 1:
            return log_probs[0], new
        mean = functional.logsumexp(np.stack(log_probs), axis=0)  # (M, N, V) -> (N, V), in the models' dtype
        mean -= math.log(len(log_probs))  # a Python float keeps float32
        return mean, new


def _smallest(values: object) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None
