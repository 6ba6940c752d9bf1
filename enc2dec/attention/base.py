"""What the encoder-decoder attentions share (Bahdanau's additive, Luong's multiplicative): the interface, checks,
and the weighted sum of the memory.

A query (B, T, Hq), one per decoder step, reads the memory (B, S, Dm), the encoder's outputs, through scores
(B, T, S), weights = masked_softmax(scores) and context = weights @ memory (B, T, Dm). The memory's share of the
scores is computed once per source, `keys = project_memory(memory)` (JoeyNMT's compute_proj_keys), and reused at
every decoder step and beam. Two levels:
- `forward(query, memory, mask) -> (context, weights)` / `backward(d_context, d_weights) -> (d_query, d_memory)`,
  the Module contract, for queries known for all steps at once (Luong without input feeding);
- the pieces `project_memory`, `attend` (pure: returns its cache instead of keeping it), `attend_backward` and
  `project_memory_backward`, for decoders that loop over steps (Bahdanau, input feeding): they keep one cache per
  step and project the memory, and back-propagate into it, once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enc2dec.attention.masks import masked_softmax, softmax_backward
from enc2dec.nn.checks import check_last_dim


def matmul_last(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x: (..., n) @ w: (n, k) -> (..., k) as one 2-D product: NumPy's stacked (B, S, n) @ (n, k) runs 30-50x
    slower than the same product on (B*S, n)."""
    return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])


class MemoryAttention:
    """A mixin placed before Module. Subclasses implement `project_memory`, `project_memory_backward`, `_scores`
    and `_scores_backward`; everything else is here."""

    query_size: int
    memory_size: int

    # -- the Module contract ----------------------------------------------------------------------------------------
    def forward(
        self, query: np.ndarray, memory: np.ndarray, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """query: (B, T, Hq), memory: (B, S, Dm), mask: (B, S) bool (True at real positions) or None
        -> context: (B, T, Dm), weights: (B, T, S), zero at masked positions."""
        self.check(query, memory, mask)
        keys = self.project_memory(memory)
        context, weights, cache = self.attend(query, keys, memory, mask)
        self._cache = (memory, cache)
        return context, weights

    def backward(self, d_context: np.ndarray, d_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """d_context: (B, T, Dm), d_weights: (B, T, S) or None -> d_query: (B, T, Hq), d_memory: (B, S, Dm)."""
        memory, cache = self.pop_cache()
        d_query, d_keys, d_memory = self.attend_backward(cache, d_context, d_weights)
        d_memory += self.project_memory_backward(memory, d_keys)
        return d_query, d_memory

    # -- the pieces, for decoders that loop over steps --------------------------------------------------------------
    def project_memory(self, memory: np.ndarray) -> np.ndarray:
        """memory: (B, S, Dm) -> keys: (B, S, ·), the memory's part of every score. Caches nothing."""
        raise NotImplementedError

    def project_memory_backward(self, memory: np.ndarray, d_keys: np.ndarray) -> np.ndarray:
        """d_keys: like keys, summed over every step that read them -> d_memory: (B, S, Dm); adds parameter grads."""
        raise NotImplementedError

    def attend(
        self, query: np.ndarray, keys: np.ndarray, memory: np.ndarray, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        """query: (B, T, Hq) (T = 1 for one decoder step), keys from project_memory, memory: (B, S, Dm),
        mask: (B, S) bool or None -> context: (B, T, Dm), weights: (B, T, S), and the cache for attend_backward."""
        scores, score_cache = self._scores(query, keys)  # (B, T, S)
        weights = masked_softmax(scores, None if mask is None else mask[:, None, :])
        context = weights @ memory  # (B, T, S) @ (B, S, Dm) -> (B, T, Dm)
        return context, weights, (weights, memory, score_cache)

    def attend_backward(
        self, cache: Any, d_context: np.ndarray, d_weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """d_context: (B, T, Dm), d_weights: (B, T, S) or None -> d_query: (B, T, Hq), d_keys: like keys,
        d_memory: (B, S, Dm) through the weighted sum only; adds the scores' parameter gradients."""
        # context = w @ memory  =>  dw = d_context @ memory^T,  d_memory = w^T @ d_context
        weights, memory, score_cache = cache
        dw = d_context @ memory.transpose(0, 2, 1)  # (B, T, Dm) @ (B, Dm, S) -> (B, T, S)
        if d_weights is not None:
            dw += d_weights
        d_memory = weights.transpose(0, 2, 1) @ d_context  # (B, S, T) @ (B, T, Dm) -> (B, S, Dm)
        d_query, d_keys = self._scores_backward(score_cache, softmax_backward(weights, dw))
        return d_query, d_keys, d_memory

    def check(self, query: np.ndarray, memory: np.ndarray, mask: np.ndarray | None) -> None:
        """Raise naming the layer unless query: (B, T, Hq), memory: (B, S, Dm), mask: (B, S) bool or None."""
        dtype = self.dtype if self.parameters() else None  # Luong's dot score has no parameters
        check_last_dim(self, "query", query, self.query_size, dtype)
        check_last_dim(self, "memory", memory, self.memory_size, query.dtype)
        if query.ndim != 3 or memory.ndim != 3 or query.shape[0] != memory.shape[0]:
            raise ValueError(
                f"{self!r}: query must have shape (B, T, {self.query_size}) and memory (B, S, {self.memory_size}) "
                f"with the same B, got {query.shape} and {memory.shape}"
            )
        if mask is not None:
            if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != memory.shape[:2]:
                got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
                raise ValueError(f"{self!r}: mask must be a bool array of shape {memory.shape[:2]}, got {got}")

    # -- for subclasses ---------------------------------------------------------------------------------------------
    def _scores(self, query: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, Any]:
        """query: (B, T, Hq), keys -> scores: (B, T, S), cache."""
        raise NotImplementedError

    def _scores_backward(self, cache: Any, d_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """d_scores: (B, T, S) -> d_query: (B, T, Hq), d_keys; adds parameter gradients."""
        raise NotImplementedError
