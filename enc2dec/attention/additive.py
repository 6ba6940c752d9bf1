"""Additive attention (Bahdanau, Cho & Bengio 2015, eq. 6 and appendix A.1.2):

    score(q, m_s) = v^T tanh(q W_q + m_s W_m + b)

The memory's part, keys = memory W_m + b: (B, S, A), is computed once per source (`project_memory`); each query
then costs one (Hq, A) product and a tanh over (B, T, S, A). Luong et al. (2015) call the same score "concat".
Weights: w_query (Hq, A), w_memory (Dm, A), bias (A,), v (A,); A = attention_size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enc2dec.attention.base import MemoryAttention, matmul_last
from enc2dec.nn import init
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter


class BahdanauAttention(MemoryAttention, Module):
    """query: (B, T, Hq), memory: (B, S, Dm), mask: (B, S) bool -> context: (B, T, Dm), weights: (B, T, S)."""

    def __init__(self, query_size: int, memory_size: int, attention_size: int, *, rng: np.random.Generator):
        super().__init__()
        if min(query_size, memory_size, attention_size) < 1:
            raise ValueError(
                f"BahdanauAttention: sizes must be >= 1, got query {query_size}, memory {memory_size}, "
                f"attention {attention_size}"
            )
        self.query_size = query_size
        self.memory_size = memory_size
        self.attention_size = attention_size
        self.w_query = Parameter(init.xavier_uniform((query_size, attention_size), rng))
        self.w_memory = Parameter(init.xavier_uniform((memory_size, attention_size), rng))
        self.bias = Parameter(init.zeros((attention_size,)))
        self.v = Parameter(init.uniform((attention_size,), 1.0 / attention_size**0.5, rng))

    def project_memory(self, memory: np.ndarray) -> np.ndarray:
        keys = matmul_last(memory, self.w_memory.value)  # (B, S, Dm) -> (B, S, A)
        keys += self.bias.value
        return keys

    def project_memory_backward(self, memory: np.ndarray, d_keys: np.ndarray) -> np.ndarray:
        # keys = memory W_m + b  =>  dW_m = memory^T d_keys,  db = sum d_keys,  d_memory = d_keys W_m^T
        A = self.attention_size
        d2 = d_keys.reshape(-1, A)  # (B*S, A)
        self.w_memory.grad += memory.reshape(-1, self.memory_size).T @ d2
        self.bias.grad += d2.sum(axis=0)
        return matmul_last(d_keys, self.w_memory.value.T)  # (B, S, A) -> (B, S, Dm)

    def _scores(self, query: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, Any]:
        q = matmul_last(query, self.w_query.value)  # (B, T, Hq) -> (B, T, A)
        e = keys[:, None, :, :] + q[:, :, None, :]  # (B, 1, S, A) + (B, T, 1, A) -> (B, T, S, A)
        np.tanh(e, out=e)
        scores = (e.reshape(-1, self.attention_size) @ self.v.value).reshape(e.shape[:3])  # (B, T, S, A) -> (B, T, S)
        return scores, (query, e)

    def _scores_backward(self, cache: Any, d_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # scores = tanh(pre) v, pre = q + keys  =>  dv = sum e d_scores,  d_pre = d_scores v (1 - e^2),
        # dq = sum_s d_pre, d_keys = sum_t d_pre, dW_q = query^T dq, d_query = dq W_q^T
        query, e = cache
        A, Hq = self.attention_size, self.query_size
        self.v.grad += e.reshape(-1, A).T @ d_scores.reshape(-1)
        d_pre = e * e  # (B, T, S, A), reusing no cached array
        np.subtract(1, d_pre, out=d_pre)
        d_pre *= d_scores[..., None] * self.v.value
        dq = d_pre.sum(axis=2)  # (B, T, S, A) -> (B, T, A)
        d_keys = d_pre.sum(axis=1)  # (B, T, S, A) -> (B, S, A)
        self.w_query.grad += query.reshape(-1, Hq).T @ dq.reshape(-1, A)
        return matmul_last(dq, self.w_query.value.T), d_keys  # (B, T, A) -> (B, T, Hq)

    def extra_repr(self) -> str:
        return f"query {self.query_size}, memory {self.memory_size}, attention {self.attention_size}"
