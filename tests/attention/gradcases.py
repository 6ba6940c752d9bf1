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


# -- multi-head attention and the Transformer blocks (enc2dec.attention.multihead, transformer_layers) ----------------
def _transformer_cases() -> dict:
    from enc2dec.attention.masks import Packing, causal_mask, padding_mask
    from enc2dec.attention.multihead import MultiHeadAttention
    from enc2dec.attention.transformer_layers import (
        Residual,
        TokenEmbedding,
        TransformerDecoder,
        TransformerDecoderLayer,
        TransformerEncoder,
        TransformerEncoderLayer,
    )
    from enc2dec.layers import Embedding, LayerNorm, Linear
    from tests.gradcases import _randomized

    D, NH, F, T_, S_ = 6, 2, 5, 3, 4  # dh = 3; T != S
    src_mask = padding_mask(np.array([4, 2]), S_)[:, None, :]  # (B, 1, S): the second source padded to 2
    causal = causal_mask(T_)
    both = causal[None] & padding_mask(np.array([3, 2]), T_)[:, None, :]  # (B, T, T)
    kw = dict(dropout=0.0, attention_dropout=0.0)
    src_packing, tgt_packing = Packing(np.array([4, 2]), S_), Packing(np.array([3, 2]), T_)  # 6 and 5 real rows

    def ln_random(module, rng):
        """LayerNorms start at weight 1, bias 0, which would hide errors; draw them at random."""
        for m in module.modules():
            if isinstance(m, LayerNorm):
                _randomized(m, rng)
        return module

    return {
        "mha_self_padding": lambda rng: (MultiHeadAttention(D, NH, rng=rng), [randn(rng, 2, S_, D), src_mask]),
        "mha_self_causal": lambda rng: (MultiHeadAttention(D, NH, rng=rng), [randn(rng, 2, T_, D), both]),
        "mha_self_no_mask_b1_t1": lambda rng: (MultiHeadAttention(D, 3, rng=rng), [randn(rng, 1, 1, D)]),
        "mha_cross": lambda rng: (
            MultiHeadAttention(D, NH, rng=rng, cross=True),
            [randn(rng, 2, T_, D), randn(rng, 2, S_, D), src_mask],
        ),
        "mha_dropout_train": lambda rng: (
            MultiHeadAttention(D, NH, rng=rng, dropout=0.3).train(),
            [randn(rng, 2, T_, D), causal],
        ),
        "residual_post_ln": lambda rng: (
            ln_random(Residual(Linear(D, D, rng=rng), D, rng=rng, dropout=0.2, pre_norm=False), rng),
            [randn(rng, 2, T_, D)],
        ),
        "encoder_layer_pre_ln_gelu": lambda rng: (
            ln_random(TransformerEncoderLayer(D, NH, F, rng=rng, activation="gelu", **kw), rng),
            [randn(rng, 2, S_, D), src_mask],
        ),
        "encoder_layer_post_ln_dropout": lambda rng: (
            ln_random(
                TransformerEncoderLayer(D, NH, F, rng=rng, pre_norm=False, dropout=0.2, attention_dropout=0.1), rng
            ),
            [randn(rng, 2, S_, D), src_mask],
        ),
        "decoder_layer_pre_ln": lambda rng: (
            ln_random(TransformerDecoderLayer(D, NH, F, rng=rng, **kw), rng),
            [randn(rng, 2, T_, D), randn(rng, 2, S_, D), causal, src_mask],
        ),
        "decoder_layer_post_ln": lambda rng: (
            ln_random(TransformerDecoderLayer(D, NH, F, rng=rng, pre_norm=False, **kw), rng),
            [randn(rng, 2, T_, D), randn(rng, 2, S_, D), causal, src_mask],
        ),
        "transformer_encoder": lambda rng: (
            ln_random(TransformerEncoder(2, D, NH, F, rng=rng, **kw), rng),
            [randn(rng, 2, S_, D), src_mask],
        ),
        "transformer_decoder": lambda rng: (
            ln_random(TransformerDecoder(2, D, NH, F, rng=rng, **kw), rng),
            [randn(rng, 2, T_, D), randn(rng, 2, S_, D), causal, src_mask],
        ),
        "mha_self_packed": lambda rng: (
            MultiHeadAttention(D, NH, rng=rng),
            [randn(rng, src_packing.n, D), src_mask, src_packing],
        ),
        "mha_cross_packed": lambda rng: (
            MultiHeadAttention(D, NH, rng=rng, cross=True),
            [randn(rng, tgt_packing.n, D), randn(rng, src_packing.n, D), src_mask, tgt_packing, src_packing],
        ),
        "encoder_layer_packed": lambda rng: (
            ln_random(TransformerEncoderLayer(D, NH, F, rng=rng, **kw), rng),
            [randn(rng, src_packing.n, D), src_mask, src_packing],
        ),
        "transformer_decoder_packed": lambda rng: (
            ln_random(TransformerDecoder(1, D, NH, F, rng=rng, pre_norm=False, **kw), rng),  # 2 layers: above
            [randn(rng, tgt_packing.n, D), randn(rng, src_packing.n, D), causal, src_mask, tgt_packing, src_packing],
        ),
        "token_embedding_sinusoidal": lambda rng: (
            TokenEmbedding(Embedding(7, D, rng=rng, padding_idx=0), rng=rng, scale=D**0.5, dropout=0.2),
            [rng.integers(1, 7, (2, T_))],
        ),
        "token_embedding_learned": lambda rng: (
            TokenEmbedding(Embedding(7, D, rng=rng), rng=rng, positions="learned", max_positions=5),
            [rng.integers(0, 7, (2, T_))],
        ),
    }


CASES.update(_transformer_cases())


# -- the attention seq2seq model: forward(batch) -> logits, and the whole objective --------------------------------
def _model_case(rng: np.random.Generator, objective: bool = False, **config) -> tuple:
    from enc2dec.data.batching import make_batch
    from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig
    from enc2dec.nn.gradcheck import Objective

    base = dict(embed_size=5, hidden_size=4, encoder_size=3, attention_size=3, dropout=0.0, label_smoothing=0.0)
    vocab = 7 if config.get("share_embeddings") else 6
    model = AttentionSeq2Seq(AttentionSeq2SeqConfig(**{**base, **config}), 7, vocab, rng=rng)
    batch = make_batch([[4, 5, 6], [5]], [[4, 5], [5, 4, 1]], np.arange(2))  # unequal lengths: padding inside
    return (Objective(model) if objective else model), [batch]


CASES.update(
    {
        "attention_seq2seq_luong_general_gru": lambda rng: _model_case(rng),
        "attention_seq2seq_luong_dot_lstm_2layers": lambda rng: _model_case(
            rng, cell="lstm", score="dot", encoder_size=2, encoder_layers=2, decoder_layers=2
        ),
        "attention_seq2seq_luong_concat_unidirectional": lambda rng: _model_case(
            rng, score="concat", bidirectional=False
        ),
        "attention_seq2seq_input_feeding_lstm": lambda rng: _model_case(rng, cell="lstm", input_feeding=True),
        "attention_seq2seq_bahdanau_gru": lambda rng: _model_case(rng, attention="bahdanau"),
        "attention_seq2seq_bahdanau_lstm": lambda rng: _model_case(rng, cell="lstm", attention="bahdanau"),
        # dropout everywhere and label smoothing, end to end; init_scale=1 keeps every gradient (attention's
        # included) far above the finite differences' roundoff, which a mean loss over 6 tokens otherwise nears
        "attention_seq2seq_objective": lambda rng: _model_case(
            rng, objective=True, dropout=0.3, label_smoothing=0.1, encoder_layers=2, init_scale=1.0
        ),
        "attention_seq2seq_bahdanau_objective": lambda rng: _model_case(
            rng, objective=True, attention="bahdanau", dropout=0.3, label_smoothing=0.1, init_scale=1.0
        ),
        "attention_seq2seq_tied_objective": lambda rng: _model_case(
            rng, objective=True, embed_size=4, share_embeddings=True, tie_output=True, init_scale=1.0
        ),
        "attention_seq2seq_input_feeding_objective": lambda rng: _model_case(
            rng, objective=True, input_feeding=True, dropout=0.3, label_smoothing=0.1, init_scale=1.0
        ),
    }
)
