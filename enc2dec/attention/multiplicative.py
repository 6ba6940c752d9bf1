"""Multiplicative attention (Luong, Pham & Manning 2015, eq. 8), global, with three scores:

    dot:     score(h_t, m_s) = h_t . m_s                       (needs query_size == memory_size)
    general: score(h_t, m_s) = h_t . (m_s W_a)                 W_a: (Dm, Hq), applied to the memory once per source
    concat:  score(h_t, m_s) = v^T tanh(h_t W_q + m_s W_m + b)   Bahdanau's additive score, reused from additive.py

For dot and general the scores of all T queries are one batched product (B, T, Hq) @ (B, Hq, S), so a decoder
without input feeding attends for every step at once. The attentional vector h~_t = tanh(W_c [c_t; h_t]) (eq. 5)
belongs to the decoder (models/attention_seq2seq.py), not to this layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enc2dec.attention.additive import BahdanauAttention
from enc2dec.attention.base import MemoryAttention, matmul_last
from enc2dec.nn import init
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter

SCORES = ("dot", "general", "concat")


class LuongAttention(MemoryAttention, Module):
    """query: (B, T, Hq), memory: (B, S, Dm), mask: (B, S) bool -> context: (B, T, Dm), weights: (B, T, S).
    Parameters: general: weight (Dm, Hq); concat: those of `additive` (a BahdanauAttention); dot: none."""

    def __init__(
        self,
        query_size: int,
        memory_size: int,
        score: str = "general",
        *,
        attention_size: int | None = None,
        rng: np.random.Generator,
    ):
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"LuongAttention: score must be one of {SCORES}, got {score!r}")
        if score == "dot" and query_size != memory_size:
            raise ValueError(
                f"LuongAttention: score 'dot' needs query_size == memory_size, got {query_size} and {memory_size}"
            )
        self.query_size = query_size
        self.memory_size = memory_size
        self.score = score
        if score == "general":
            self.weight = Parameter(init.xavier_uniform((memory_size, query_size), rng))
        elif score == "concat":
            self.additive = BahdanauAttention(query_size, memory_size, attention_size or query_size, rng=rng)

    def project_memory(self, memory: np.ndarray) -> np.ndarray:
        if self.score == "concat":
            return self.additive.project_memory(memory)
        if self.score == "dot":
            return memory
        return matmul_last(memory, self.weight.value)  # (B, S, Dm) -> (B, S, Hq)

    def project_memory_backward(self, memory: np.ndarray, d_keys: np.ndarray) -> np.ndarray:
        if self.score == "concat":
            return self.additive.project_memory_backward(memory, d_keys)
        if self.score == "dot":
            return d_keys
        # keys = memory W_a  =>  dW_a = memory^T d_keys,  d_memory = d_keys W_a^T
        self.weight.grad += memory.reshape(-1, self.memory_size).T @ d_keys.reshape(-1, self.query_size)
        return matmul_last(d_keys, self.weight.value.T)  # (B, S, Hq) -> (B, S, Dm)

    def _scores(self, query: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.score == "concat":
            return self.additive._scores(query, keys)
        return query @ keys.transpose(0, 2, 1), (query, keys)  # (B, T, Hq) @ (B, Hq, S) -> (B, T, S)

    def _scores_backward(self, cache: Any, d_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.score == "concat":
            return self.additive._scores_backward(cache, d_scores)
        # scores = query keys^T  =>  d_query = d_scores keys,  d_keys = d_scores^T query
        query, keys = cache
        return d_scores @ keys, d_scores.transpose(0, 2, 1) @ query  # (B, T, Hq), (B, S, Hq)

    def extra_repr(self) -> str:
        return f"{self.score}, query {self.query_size}, memory {self.memory_size}"
