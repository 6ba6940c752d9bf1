"""Sequence to sequence with a fixed-size context (Sutskever, Vinyals & Le 2014).

A deep LSTM reads the source (reversed within each sentence's length, section 3.3 of the paper); its final states,
one (h, c) per layer, are the context and initialise a deep LSTM decoder, which predicts the target token by token
with a softmax over the target vocabulary. Teacher forcing in training; with `scheduled_sampling` > 0 a share of
the decoder's inputs is replaced by the model's own greedy predictions from a first teacher-forced pass (the
parallel form of scheduled sampling, Duckworth et al. 2019), so all time steps still run as one sequence.

Batch-first at the boundary: src (B, S), tgt (B, T); time-major inside the recurrent layers, transposed once.
The output projection runs only on the N real (non-padding) target positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enc2dec.data.batching import Batch
from enc2dec.layers import Dropout, Embedding, Linear, TiedOutput, share_table
from enc2dec.losses import CrossEntropy
from enc2dec.nn import functional, init
from enc2dec.nn.checks import check_flags, check_float_field, check_int_field, check_tied_output
from enc2dec.nn.module import Module
from enc2dec.recurrent import Stacked, reverse_padded
from enc2dec.specials import PAD_ID, DecoderState


@dataclass(frozen=True)
class Seq2SeqConfig:
    cell: str = "lstm"  # lstm | gru | rnn
    embed_size: int = 256
    hidden_size: int = 512
    n_layers: int = 4  # Sutskever et al.: 4 layers in encoder and decoder
    dropout: float = 0.0  # between layers and on embeddings and decoder outputs
    reverse_source: bool = True  # Sutskever et al.: reversing the source helps (section 3.3)
    init_scale: float | None = 0.08  # Sutskever et al.: every parameter from U(-0.08, 0.08); None: layer defaults
    label_smoothing: float = 0.0
    scheduled_sampling: float = 0.0  # share of decoder inputs replaced by the model's own predictions
    share_embeddings: bool = False  # one table for source and target: needs one joint vocabulary
    tie_output: bool = False  # the output projection is the target embedding (needs embed_size == hidden_size)

    def __post_init__(self) -> None:
        if self.cell not in ("lstm", "gru", "rnn"):
            raise ValueError(f"Seq2SeqConfig.cell must be 'lstm', 'gru' or 'rnn', got {self.cell!r}")
        where = "Seq2SeqConfig"
        for name in ("embed_size", "hidden_size", "n_layers"):
            check_int_field(where, name, getattr(self, name), 1)
        for name in ("dropout", "label_smoothing"):
            check_float_field(where, name, getattr(self, name), 0.0, 1.0, "[)")
        check_float_field(where, "scheduled_sampling", self.scheduled_sampling, 0.0, 1.0)
        check_float_field(where, "init_scale", self.init_scale, 0.0, bounds="(]", optional=True)
        check_flags(self)
        check_tied_output(where, self, self.hidden_size)


class Seq2Seq(Module):
    """Embedding -> deep RNN encoder -> context (final states) -> deep RNN decoder -> Linear -> softmax."""

    def __init__(self, config: Seq2SeqConfig, src_vocab_size: int, tgt_vocab_size: int, *, rng: np.random.Generator):
        super().__init__()
        self.config = config
        c = config
        self.src_embed = Embedding(src_vocab_size, c.embed_size, rng=rng, padding_idx=PAD_ID)
        self.tgt_embed = Embedding(tgt_vocab_size, c.embed_size, rng=rng, padding_idx=PAD_ID)
        if c.share_embeddings:
            share_table(self.src_embed, self.tgt_embed, "Seq2Seq")
        self.encoder = Stacked(c.cell, c.embed_size, c.hidden_size, c.n_layers, dropout=c.dropout, rng=rng)
        self.decoder = Stacked(c.cell, c.embed_size, c.hidden_size, c.n_layers, dropout=c.dropout, rng=rng)
        self.output_dropout = Dropout(c.dropout, rng=rng)
        self.output = TiedOutput(self.tgt_embed) if c.tie_output else Linear(c.hidden_size, tgt_vocab_size, rng=rng)
        self.loss = CrossEntropy(ignore_index=PAD_ID, smoothing=c.label_smoothing)
        self.rng = rng
        if c.init_scale is not None:
            for p in self.parameters():
                p.value[...] = init.uniform(p.shape, c.init_scale, rng)
            for emb in (self.src_embed, self.tgt_embed):
                emb.weight.value[PAD_ID] = 0

    # -- training ---------------------------------------------------------------------------------------------------
    def _encode(self, src: np.ndarray, src_lengths: np.ndarray) -> tuple:
        """src: (B, S) -> the encoder's final state per layer (the context)."""
        src = src.T  # (B, S) -> (S, B), time-major
        if self.config.reverse_source:
            src = reverse_padded(src, src_lengths)
        x = self.src_embed.forward(src)  # (S, B) -> (S, B, E)
        _, context = self.encoder.forward(x, src_lengths)
        return context

    def forward(self, batch: Batch) -> np.ndarray:
        """batch.src: (B, S), batch.tgt: (B, T) = bos ... eos -> logits: (N, V) at the N real target positions."""
        context = self._encode(batch.src, batch.src_lengths)
        dec_in = batch.tgt[:, :-1].T  # (T-1, B), time-major
        dec_lengths = batch.tgt_lengths - 1
        if self.training and self.config.scheduled_sampling > 0:
            dec_in = self._scheduled_inputs(dec_in, dec_lengths, context)
        h, _ = self.decoder.forward(self.tgt_embed.forward(dec_in), dec_lengths, context)  # (T-1, B, H)
        real = np.arange(h.shape[0])[:, None] < dec_lengths[None, :]  # (T-1, B)
        self._cache = (real, h.shape)
        return self.output.forward(self.output_dropout.forward(h[real]))  # (N, H) -> (N, V)

    def _scheduled_inputs(self, dec_in: np.ndarray, dec_lengths: np.ndarray, context: tuple) -> np.ndarray:
        """Replace a random share of inputs (never bos) by the greedy predictions of a teacher-forced pass."""
        h, _ = self.decoder.forward(self.tgt_embed.forward(dec_in), dec_lengths, context)
        predicted = self.output.apply(h).argmax(-1)  # (T-1, B)
        self.decoder.clear_cache()
        self.tgt_embed.clear_cache()
        replace = self.rng.random(dec_in.shape) < self.config.scheduled_sampling
        replace[0] = False
        mixed = dec_in.copy()
        mixed[1:][replace[1:]] = predicted[:-1][replace[1:]]
        return mixed

    def backward(self, d_logits: np.ndarray) -> tuple[()]:
        # logits = W h[real] + b: scatter d_h back to (T-1, B, H), then through decoder, context, encoder
        real, shape = self.pop_cache()
        dh = np.zeros(shape, dtype=d_logits.dtype)
        dh[real] = self.output_dropout.backward(self.output.backward(d_logits))
        d_dec_in, d_context = self.decoder.backward(dh, None)
        self.tgt_embed.backward(d_dec_in)
        self.src_embed.backward(self.encoder.backward(None, d_context))
        return ()

    def compute_loss(self, batch: Batch) -> tuple[float, int]:
        """Mean cross-entropy per target token, and the number of target tokens."""
        logits = self.forward(batch)
        real = np.arange(batch.tgt.shape[1] - 1)[None, :] < (batch.tgt_lengths - 1)[:, None]  # (B, T-1)
        target = batch.tgt[:, 1:].T[real.T]  # the N real targets, in the logits' (time-major) order
        return float(self.loss.forward(logits, target)), int(real.sum())

    def backward_loss(self) -> None:
        self.backward(self.loss.backward())

    # -- decoding (enc2dec.decoding.StepModel) ----------------------------------------------------------------------
    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        """src_ids: (B, S) -> state with batch on axis 0: the decoder's initial per-layer states (B, L, H)."""
        context = self._encode(src_ids, src_lengths)
        self.clear_cache()
        return self.decoder.state_to_batch_major(context)

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        """prev_ids: (B,) -> log_probs: (B, V), next state. Caches nothing."""
        x = self.tgt_embed.weight.value[prev_ids]  # (B, E)
        h, new_state = self.decoder.step(x, self.decoder.state_from_batch_major(state))
        logits = self.output.apply(h)  # (B, V)
        return functional.log_softmax(logits, out=logits), self.decoder.state_to_batch_major(new_state)
