"""Decoding, written once for every sequence model: greedy search, beam search, sampling, and corpus decoding.

All of it calls only `model.encode(src_ids, src_lengths)` and `model.step(prev_ids, state)` (see `state.StepModel`).
"""

from enc2dec.decoding.batch import SourcesTooLongError, TooLong, decode_all, n_best_rows, pad
from enc2dec.decoding.beam import beam_search
from enc2dec.decoding.greedy import greedy_search
from enc2dec.decoding.sampling import sample
from enc2dec.decoding.state import DecoderState, Hypothesis, StepModel

__all__ = [
    "DecoderState",
    "Hypothesis",
    "SourcesTooLongError",
    "StepModel",
    "TooLong",
    "beam_search",
    "decode_all",
    "greedy_search",
    "n_best_rows",
    "pad",
    "sample",
]
