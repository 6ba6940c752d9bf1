"""Gradcheck cases of enc2dec.attention's additive and multiplicative attention (collected by tests/gradcases.py).

Shapes tiny and unequal: B=2, T=3, S=4, Hq=5, Dm=6, A=3, plus T=1 and B=1. The mask pads the second source to
length 2, so masked positions are inside every check: their weights are constants (zero), and the memory rows
there get zero gradient (checked in test_attention.py)."""

from __future__ import annotations

import numpy as np

from enc2dec.attention import BahdanauAttention, LuongAttention, masked_softmax, softmax_backward
from enc2dec.nn.module import Module
from tests.helpers import randn

B, T, S, HQ, DM, A = 2, 3, 4, 5, 6, 3
MASK = np.array([[True] * S, [True, True, False, False]])


class MaskedSoftmax(Module):
    """Test adapter: the shared masked softmax as a Module, scores (B, T, S) under a (B, 1, S) mask."""

    def forward(self, scores, mask):
        self._cache = masked_softmax(scores, mask[:, None, :])
        return self._cache

    def backward(self, d_weights):
        return softmax_backward(self.pop_cache(), d_weights)


class StepLoop(Module):
    """Test adapter: the step-by-step pieces as a decoder uses them: keys projected once, T single-step attends,
    backward step by step, d_keys summed, then one project_memory_backward. Must equal forward's gradients."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, query, memory, mask):
        a = self.inner
        keys = a.project_memory(memory)
        outs = [a.attend(query[:, t : t + 1], keys, memory, mask) for t in range(query.shape[1])]
        self._cache = (memory, keys, [c for _, _, c in outs])
        return np.concatenate([c for c, _, _ in outs], axis=1), np.concatenate([w for _, w, _ in outs], axis=1)

    def backward(self, d_context, d_weights):
        memory, keys, caches = self.pop_cache()
        d_keys, d_memory, d_query = np.zeros_like(keys), np.zeros_like(memory), []
        for t in reversed(range(len(caches))):
            dq, dk, dm = self.inner.attend_backward(caches[t], d_context[:, t : t + 1], d_weights[:, t : t + 1])
            d_keys += dk
            d_memory += dm
            d_query.append(dq)
        d_memory += self.inner.project_memory_backward(memory, d_keys)
        return np.concatenate(d_query[::-1], axis=1), d_memory


def _inputs(rng, b=B, t=T, hq=HQ, dm=DM, mask=MASK):
    return [randn(rng, b, t, hq), randn(rng, b, S, dm), mask]


CASES = {
    "masked_softmax": lambda rng: (MaskedSoftmax(), [randn(rng, B, T, S), MASK]),
    "bahdanau": lambda rng: (BahdanauAttention(HQ, DM, A, rng=rng), _inputs(rng)),
    "bahdanau_no_mask_t1": lambda rng: (BahdanauAttention(HQ, DM, A, rng=rng), _inputs(rng, t=1, mask=None)),
    "bahdanau_step_loop": lambda rng: (StepLoop(BahdanauAttention(HQ, DM, A, rng=rng)), _inputs(rng)),
    "luong_dot": lambda rng: (LuongAttention(DM, DM, "dot", rng=rng), _inputs(rng, hq=DM)),
    "luong_general": lambda rng: (LuongAttention(HQ, DM, "general", rng=rng), _inputs(rng)),
    "luong_general_b1": lambda rng: (
        LuongAttention(HQ, DM, "general", rng=rng),
        _inputs(rng, b=1, mask=np.array([[True, True, True, False]])),
    ),
    "luong_concat": lambda rng: (LuongAttention(HQ, DM, "concat", attention_size=A, rng=rng), _inputs(rng)),
    "luong_general_step_loop": lambda rng: (StepLoop(LuongAttention(HQ, DM, "general", rng=rng)), _inputs(rng)),
}
