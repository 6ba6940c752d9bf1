"""Sequence to sequence with attention: a bidirectional recurrent encoder whose outputs (the memory) a recurrent
decoder reads at every step, instead of one fixed-size context (Bahdanau, Cho & Bengio 2015; Luong, Pham &
Manning 2015).

Encoder: embeddings -> Stacked GRU/LSTM, bidirectional -> memory (B, S, M), M = 2 * encoder hidden size. The
top layer's final states of both directions, through tanh(Linear) (the "bridge"), start every decoder layer.
Decoder, per target step t, with c_t = attention(query, memory) and the attentional vector (Luong eq. 5)
    h~_t = tanh(W_c [c_t; s_t]),   p(y_t | y_<t, x) = softmax(W_o h~_t):
- attention "luong": s_t = RNN(s_{t-1}, y_{t-1}), then c_t attends with query s_t (eq. 8 scores dot | general |
  concat). Without input feeding nothing in the recurrence depends on attention, so the decoder RNN runs over all
  steps as one sequence and attention is one batched product for all T steps: the fast path. With
  `input_feeding` (section 3.3) the RNN reads [y_{t-1}; h~_{t-1}], a loop over steps;
- attention "bahdanau": c_t attends with query s_{t-1} (additive score), then s_t = RNN(s_{t-1}, [y_{t-1}; c_t]),
  a loop over steps (h~ as above instead of the paper's maxout, as JoeyNMT does).
The loops keep one attention cache per step, project the memory once and back-propagate into it once; the output
layers (W_c, W_o) run after the loop on all N real target positions at once. The looping decoders use one layer
and call the recurrent layer's per-sequence `_run`/`_backprop` with T = 1.

Batch-first at the boundary: src (B, S), tgt (B, T); the recurrent layers are time-major inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from enc2dec.attention import BahdanauAttention, LuongAttention, padding_mask
from enc2dec.data.batching import Batch
from enc2dec.layers import Dropout, Embedding, Linear, Tanh, TiedOutput, share_table
from enc2dec.losses import CrossEntropy
from enc2dec.nn import functional, init
from enc2dec.nn.checks import check_flags, check_float_field, check_int_field, check_tied_output
from enc2dec.nn.module import Module
from enc2dec.recurrent import Stacked
from enc2dec.specials import PAD_ID, DecoderState, by_sentence, group_by_sentence


@dataclass(frozen=True)
class AttentionSeq2SeqConfig:
    cell: str = "gru"  # gru | lstm | rnn, encoder and decoder
    embed_size: int = 256
    hidden_size: int = 512  # decoder state and attentional vector h~
    encoder_size: int | None = None  # per direction; None: hidden_size // 2 if bidirectional (so M = hidden_size)
    encoder_layers: int = 1
    decoder_layers: int = 1  # the looping decoders (bahdanau, input_feeding) take 1
    bidirectional: bool = True  # Bahdanau et al.: a bidirectional encoder, memory = [forward; backward]
    attention: str = "luong"  # luong (attend after the RNN step) | bahdanau (before it)
    score: str = "general"  # luong's score (Luong et al. eq. 8): dot | general | concat
    attention_size: int | None = None  # width of the additive score (bahdanau, concat); None: hidden_size
    input_feeding: bool = False  # Luong et al. section 3.3: h~_{t-1} joins the decoder input
    dropout: float = 0.2  # on embeddings, between encoder layers, on h~
    label_smoothing: float = 0.1
    init_scale: float | None = None  # U(-s, s) for every parameter; None: each layer's own initialisation
    share_embeddings: bool = False  # one table for source and target: needs one joint vocabulary
    tie_output: bool = False  # the output projection is the target embedding (needs embed_size == hidden_size)

    def __post_init__(self) -> None:
        where = "AttentionSeq2SeqConfig"
        for name, value, allowed in (
            ("cell", self.cell, ("gru", "lstm", "rnn")),
            ("attention", self.attention, ("luong", "bahdanau")),
            ("score", self.score, ("dot", "general", "concat")),
        ):
            if value not in allowed:
                raise ValueError(f"{where}.{name} must be one of {allowed}, got {value!r}")
        for name in ("embed_size", "hidden_size", "encoder_layers", "decoder_layers"):
            check_int_field(where, name, getattr(self, name), 1)
        check_int_field(where, "encoder_size", self.encoder_size, 1, optional=True, note="null: from hidden_size")
        check_int_field(where, "attention_size", self.attention_size, 1, optional=True, note="null: hidden_size")
        for name in ("dropout", "label_smoothing"):
            check_float_field(where, name, getattr(self, name), 0.0, 1.0, "[)")
        check_float_field(where, "init_scale", self.init_scale, 0.0, bounds="(]", optional=True)
        check_flags(self)
        check_tied_output(where, self, self.hidden_size)
        if self.memory_size < 1:
            raise ValueError(f"{where}: a bidirectional encoder of hidden_size // 2 units needs hidden_size >= 2, "
                             f"got {self.hidden_size} (or set encoder_size)")  # fmt: skip
        if self.attention == "luong" and self.score == "dot" and self.memory_size != self.hidden_size:
            raise ValueError(f"{where}: score 'dot' needs the memory width {self.memory_size} (encoder_size x "
                             f"directions) to equal hidden_size {self.hidden_size}")  # fmt: skip
        if self.looping and self.decoder_layers != 1:
            raise ValueError(f"{where}: attention 'bahdanau' and input_feeding need decoder_layers=1, "
                             f"got {self.decoder_layers}")  # fmt: skip
        if self.attention == "bahdanau" and self.input_feeding:
            raise ValueError(f"{where}: input_feeding is Luong's; attention 'bahdanau' already feeds c_t")

    @property
    def looping(self) -> bool:
        """True when the decoder must loop over steps in training (attention inside the recurrence)."""
        return self.attention == "bahdanau" or self.input_feeding

    @property
    def memory_size(self) -> int:
        """M, the width of the encoder outputs that attention reads."""
        per_direction = self.encoder_size or (self.hidden_size // 2 if self.bidirectional else self.hidden_size)
        return per_direction * (2 if self.bidirectional else 1)


class AttentionSeq2Seq(Module):
    """Embeddings -> bidirectional RNN encoder -> memory; RNN decoder + attention -> h~ -> Linear -> softmax."""

    def __init__(
        self, config: AttentionSeq2SeqConfig, src_vocab_size: int, tgt_vocab_size: int, *, rng: np.random.Generator
    ):
        super().__init__()
        self.config = c = config
        E, H, M = c.embed_size, c.hidden_size, c.memory_size
        D = 2 if c.bidirectional else 1
        feed = M if c.attention == "bahdanau" else H if c.input_feeding else 0  # extra decoder input
        self.src_embed = Embedding(src_vocab_size, E, rng=rng, padding_idx=PAD_ID)
        self.tgt_embed = Embedding(tgt_vocab_size, E, rng=rng, padding_idx=PAD_ID)
        if c.share_embeddings:
            share_table(self.src_embed, self.tgt_embed, "AttentionSeq2Seq")
        self.src_dropout = Dropout(c.dropout, rng=rng)
        self.tgt_dropout = Dropout(c.dropout, rng=rng)
        self.encoder = Stacked(
            c.cell, E, M // D, c.encoder_layers, dropout=c.dropout, bidirectional=c.bidirectional, rng=rng
        )
        self.bridge = Linear(M, c.decoder_layers * H, rng=rng)
        self.bridge_act = Tanh()
        self.decoder = Stacked(c.cell, E + feed, H, c.decoder_layers, dropout=c.dropout, rng=rng)
        if c.attention == "bahdanau":
            self.attention = BahdanauAttention(H, M, c.attention_size or H, rng=rng)
        else:
            self.attention = LuongAttention(H, M, c.score, attention_size=c.attention_size or H, rng=rng)
        self.combine = Linear(M + H, H, rng=rng)  # h~ = tanh(W_c [c; s]), Luong eq. 5
        self.combine_act = Tanh()
        self.output_dropout = Dropout(c.dropout, rng=rng)
        self.output = TiedOutput(self.tgt_embed) if c.tie_output else Linear(H, tgt_vocab_size, rng=rng)
        self.loss = CrossEntropy(ignore_index=PAD_ID, smoothing=c.label_smoothing)
        if c.init_scale is not None:
            for p in self.parameters():
                p.value[...] = init.uniform(p.shape, c.init_scale, rng)
            for emb in (self.src_embed, self.tgt_embed):
                emb.weight.value[PAD_ID] = 0

    # -- encoder ----------------------------------------------------------------------------------------------------
    def _encode(self, src: np.ndarray, src_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """src: (B, S) -> memory: (B, S, M), mask: (B, S) bool, the decoder's initial state (L, B, H) (or (h, c))."""
        B, S = src.shape
        x = self.src_dropout.forward(self.src_embed.forward(src.T))  # (B, S) -> (S, B, E), time-major
        h_seq, final = self.encoder.forward(x, src_lengths)  # (S, B, M)
        memory = np.ascontiguousarray(h_seq.transpose(1, 0, 2))  # (S, B, M) -> (B, S, M)
        h_final = final[0] if self.encoder.has_cell else final  # (L*D, B, M/D)
        D = self.encoder.n_directions
        top = h_final[-D:].transpose(1, 0, 2).reshape(B, -1)  # (D, B, M/D) -> (B, M): forward then reverse
        h0 = self.bridge_act.forward(self.bridge.forward(top))  # (B, L*H)
        L, H = self.config.decoder_layers, self.config.hidden_size
        h0 = np.ascontiguousarray(h0.reshape(B, L, H).transpose(1, 0, 2))  # (B, L*H) -> (L, B, H)
        state = (h0, np.zeros_like(h0)) if self.decoder.has_cell else h0
        return memory, padding_mask(src_lengths, S), state

    def _encode_backward(self, d_memory: np.ndarray, d_state: Any, final_shape: tuple) -> None:
        """d_memory: (B, S, M), d_state: gradient of the decoder's initial state -> into the encoder."""
        dh0 = d_state[0] if self.decoder.has_cell else d_state  # (L, B, H); c0 is a constant zero
        B = dh0.shape[1]
        d_top = self.bridge.backward(self.bridge_act.backward(dh0.transpose(1, 0, 2).reshape(B, -1)))  # (B, M)
        D = self.encoder.n_directions
        dh_final = np.zeros(final_shape, dtype=d_memory.dtype)  # (L*D, B, M/D)
        dh_final[-D:] = d_top.reshape(B, D, -1).transpose(1, 0, 2)
        d_final = (dh_final, np.zeros_like(dh_final)) if self.encoder.has_cell else dh_final
        dx = self.encoder.backward(d_memory.transpose(1, 0, 2), d_final)  # (S, B, E)
        self.src_embed.backward(self.src_dropout.backward(dx))

    # -- training ---------------------------------------------------------------------------------------------------
    def forward(self, batch: Batch) -> np.ndarray:
        """batch.src: (B, S), batch.tgt: (B, T+1) = bos ... eos -> logits: (N, V) at the N real target positions,
        batch-major (sentence by sentence)."""
        memory, mask, state0 = self._encode(batch.src, batch.src_lengths)
        keys = self.attention.project_memory(memory)  # once per source
        dec_lengths = batch.tgt_lengths - 1
        x = self.tgt_dropout.forward(self.tgt_embed.forward(batch.tgt[:, :-1].T))  # (T, B) -> (T, B, E)
        T, B = x.shape[:2]
        real = np.arange(T)[None, :] < dec_lengths[:, None]  # (B, T)
        if self.config.looping:
            combined, loop_cache = self._loop_forward(x, state0, keys, memory, mask, real)
        else:
            s, _ = self.decoder.forward(x, dec_lengths, state0)  # (T, B, H)
            query = s.transpose(1, 0, 2)  # (T, B, H) -> (B, T, H)
            context, _, att_cache = self.attention.attend(query, keys, memory, mask)  # (B, T, M)
            cat = np.concatenate([context[real], query[real]], axis=1)  # (N, M + H)
            combined = self.combine_act.forward(self.combine.forward(cat))  # (N, H)
            loop_cache = att_cache
        final_shape = self.encoder_final_shape(batch.src.shape[0])
        self._cache = (real, memory, keys, loop_cache, final_shape)
        return self.output.forward(self.output_dropout.forward(combined))  # (N, H) -> (N, V)

    def encoder_final_shape(self, B: int) -> tuple[int, int, int]:
        """The shape of the encoder's final h: (L*D, B, M/D)."""
        D = self.encoder.n_directions
        return (self.config.encoder_layers * D, B, self.config.memory_size // D)

    def backward(self, d_logits: np.ndarray) -> tuple[()]:
        real, memory, keys, loop_cache, final_shape = self.pop_cache()
        d_combined = self.output_dropout.backward(self.output.backward(d_logits))  # (N, H)
        if self.config.looping:
            dx, d_state0, d_keys, d_memory = self._loop_backward(loop_cache, d_combined, keys, memory, real)
        else:
            d_cat = self.combine.backward(self.combine_act.backward(d_combined))  # (N, M + H)
            B, T = real.shape
            M = self.config.memory_size
            d_context = np.zeros((B, T, M), dtype=d_cat.dtype)
            d_context[real] = d_cat[:, :M]
            d_query, d_keys, d_memory = self.attention.attend_backward(loop_cache, d_context)  # (B, T, H)
            d_query[real] += d_cat[:, M:]
            dx, d_state0 = self.decoder.backward(d_query.transpose(1, 0, 2), None)  # (T, B, E)
        self.tgt_embed.backward(self.tgt_dropout.backward(dx))
        d_memory += self.attention.project_memory_backward(memory, d_keys)
        self._encode_backward(d_memory, d_state0, final_shape)
        return ()

    def compute_loss(self, batch: Batch) -> tuple[float, int]:
        """Mean cross-entropy per target token, and the number of target tokens."""
        logits = self.forward(batch)
        real = np.arange(batch.tgt.shape[1] - 1)[None, :] < (batch.tgt_lengths - 1)[:, None]  # (B, T)
        return float(self.loss.forward(logits, batch.tgt[:, 1:][real])), int(real.sum())

    def backward_loss(self) -> None:
        self.backward(self.loss.backward())

    # -- the looping decoders (bahdanau; luong with input feeding) ---------------------------------------------------
    def _loop_forward(self, x, state0, keys, memory, mask, real) -> tuple[np.ndarray, Any]:
        """x: (T, B, E) embedded inputs -> h~ at the N real positions (N, H), and the loop's cache."""
        c = self.config
        T, B, _ = x.shape
        H, M = c.hidden_size, c.memory_size
        rnn = self.decoder.layers[0]
        bahdanau = c.attention == "bahdanau"
        state = tuple(s[0] for s in state0) if rnn.has_cell else (state0[0],)  # (B, H) each
        cats = np.empty((T, B, M + H), dtype=x.dtype)  # [c_t; s_t], the input of h~_t
        feeds = np.zeros((T + 1, B, H), dtype=x.dtype)  # luong: h~_{t-1} at t, h~_{-1} = 0
        att_caches, rnn_caches = [], []
        W, b = self.combine.weight.value, self.combine.bias.value
        # The RNN runs every row at every step: a row's steps past its length come after all its real ones, so they
        # change nothing that is kept (their outputs are dropped, their gradients are zero).
        for t in range(T):
            if bahdanau:  # attend with s_{t-1}, then read [y_{t-1}; c_t]
                ctx, _, ac = self.attention.attend(state[0][:, None], keys, memory, mask)  # (B, 1, M)
                cats[t, :, :M] = ctx[:, 0]
                inp = np.concatenate([x[t], ctx[:, 0]], axis=1)  # (B, E + M)
            else:
                inp = np.concatenate([x[t], feeds[t]], axis=1)  # (B, E + H)
            h_seq, state, rc = rnn._run(inp[None], None, state)  # (1, B, H)
            cats[t, :, M:] = h_seq[0]
            if not bahdanau:  # attend with s_t; h~_t is the next step's extra input (Luong eq. 5)
                ctx, _, ac = self.attention.attend(h_seq[0][:, None], keys, memory, mask)
                cats[t, :, :M] = ctx[:, 0]
                np.tanh(cats[t] @ W + b, out=feeds[t + 1])
            att_caches.append(ac)
            rnn_caches.append(rc)
        if bahdanau:  # h~ for all steps at once
            combined = self.combine_act.forward(self.combine.forward(cats.transpose(1, 0, 2)[real]))  # (N, H)
        else:
            combined = feeds[1:].transpose(1, 0, 2)[real]  # (N, H)
        return combined, (x, cats, feeds, att_caches, rnn_caches)

    def _loop_backward(self, cache, d_combined, keys, memory, real) -> tuple:
        """d_combined: (N, H) -> dx: (T, B, E), d_state0, d_keys, d_memory (through the weighted sums)."""
        x, cats, feeds, att_caches, rnn_caches = cache
        T, B, E = x.shape
        H, M = self.config.hidden_size, self.config.memory_size
        rnn = self.decoder.layers[0]
        bahdanau = self.config.attention == "bahdanau"
        d_keys, d_memory = np.zeros_like(keys), np.zeros_like(memory)
        dx = np.empty_like(x)
        if bahdanau:  # h~ ran after the loop: its backward first, giving d [c_t; s_t] for every t
            d_cat = np.zeros((T, B, M + H), dtype=x.dtype)
            d_cat.transpose(1, 0, 2)[real] = self.combine.backward(self.combine_act.backward(d_combined))
        else:
            d_out = np.zeros((T, B, H), dtype=x.dtype)  # d h~_t from the output layer
            d_out.transpose(1, 0, 2)[real] = d_combined
            d_pre = np.empty((T, B, H), dtype=x.dtype)  # d (W_c [c_t; s_t] + b)
            W = self.combine.weight.value
        d_states = tuple(np.zeros((B, H), dtype=x.dtype) for _ in range(2 if rnn.has_cell else 1))
        d_feed = np.zeros((B, H), dtype=x.dtype)  # bahdanau: d s_t as step t+1's query; luong: d h~_t as its input
        for t in reversed(range(T)):
            rc = rnn_caches[t]
            if bahdanau:
                ds = d_cat[t, :, M:] + d_feed  # d s_t: from h~_t and from the query of step t + 1
            else:
                # h~_t = tanh(W [c_t; s_t] + b)  =>  d_pre = (d_out + d_feed) (1 - h~^2),  d [c_t; s_t] = d_pre W^T
                h = feeds[t + 1]
                np.multiply(d_out[t] + d_feed, 1 - h * h, out=d_pre[t])
                d_cs = d_pre[t] @ W.T  # (B, M + H)
                dq, dk, dm = self.attention.attend_backward(att_caches[t], d_cs[:, None, :M])
                d_keys += dk
                d_memory += dm
                ds = d_cs[:, M:] + dq[:, 0]  # s_t is in [c_t; s_t] and is the query
            d_in, d_states = rnn._backprop(rc, ds[None], d_states, None)  # (1, B, E + ·)
            dx[t] = d_in[0, :, :E]
            if bahdanau:
                d_ctx = d_in[0, :, E:] + d_cat[t, :, :M]  # c_t is in the RNN input and in [c_t; s_t]
                dq, dk, dm = self.attention.attend_backward(att_caches[t], d_ctx[:, None])
                d_keys += dk
                d_memory += dm
                d_feed = dq[:, 0]  # d s_{t-1}
            else:
                d_feed = d_in[0, :, E:]  # d h~_{t-1}
        if bahdanau:
            d_states[0][...] += d_feed  # the initial state was step 0's query
        else:  # W_c and b_c: one product for all steps
            dp = d_pre.reshape(T * B, H)
            self.combine.weight.grad += cats.reshape(T * B, M + H).T @ dp
            self.combine.bias.grad += dp.sum(axis=0)
        d_state0 = tuple(d[None] for d in d_states) if rnn.has_cell else d_states[0][None]  # (1, B, H)
        return dx, d_state0, d_keys, d_memory

    # -- decoding (enc2dec.decoding.StepModel) ----------------------------------------------------------------------
    shared_state = ("memory", "keys", "mask")  # held once per sentence, shared by its rows (hypotheses)

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        """src_ids: (B, S) -> state with batch on axis 0: decoder states (B, L, H), for input feeding h~ (B, H),
        "sentence" (B,); shared by the rows (enc2dec.specials.share_rows, never copied by searches): memory
        (B, S, M), keys, mask (B, S) bool, the source side of the B sentences."""
        memory, mask, state0 = self._encode(src_ids, src_lengths)
        self.clear_cache()
        state = self.decoder.state_to_batch_major(state0)
        state.update(memory=memory, keys=self.attention.project_memory(memory), mask=mask)
        if self.config.input_feeding:
            state["feed"] = np.zeros((src_ids.shape[0], self.config.hidden_size), dtype=memory.dtype)
        return by_sentence(state, self.shared_state)

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        """prev_ids: (N,) -> log_probs: (N, V), next state with "attention": (N, S). Caches nothing. The N rows
        are hypotheses of n sentences (group_by_sentence: N / n of each, adjacent), whose queries attend to their
        sentence's memory together."""
        state = group_by_sentence(state, self.shared_state)
        memory, keys, mask = (state[k][0] for k in self.shared_state)  # (n, S, .)
        N, n = len(prev_ids), len(memory)

        def attend(query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # (N, H) -> context (N, M), weights (N, S)
            context, weights, _ = self.attention.attend(query.reshape(n, N // n, -1), keys, memory, mask)
            return context.reshape(N, -1), weights.reshape(N, -1)

        x = self.tgt_embed.weight.value[prev_ids]  # (N, E)
        rnn_state = self.decoder.state_from_batch_major(state)
        if self.config.attention == "bahdanau":
            context, weights = attend(state["h"][:, -1])  # with the top layer's previous state
            s, rnn_state = self.decoder.step(np.concatenate([x, context], axis=1), rnn_state)
        else:
            if self.config.input_feeding:
                x = np.concatenate([x, state["feed"]], axis=1)
            s, rnn_state = self.decoder.step(x, rnn_state)  # (N, H)
            context, weights = attend(s)
        cat = np.concatenate([context, s], axis=1)  # (N, M + H)
        h = np.tanh(self.combine.apply(cat))  # (N, H)
        logits = self.output.apply(h)  # (N, V)
        new_state = self.decoder.state_to_batch_major(rnn_state)
        new_state.update({k: state[k] for k in (*self.shared_state, "sentence")}, attention=weights)
        if self.config.input_feeding:
            new_state["feed"] = h
        return functional.log_softmax(logits, out=logits), new_state
