"""The Transformer encoder-decoder (Vaswani et al. 2017) for translation, with a key/value cache for decoding.

Source tokens -> embedding * sqrt(D) + positions -> encoder stack -> memory; target tokens (shifted right: BOS ...)
-> embedding + positions -> decoder stack (causal self-attention, cross-attention over the memory) -> output
projection, optionally tied to the target embedding (section 3.4), computed only at the N real target positions.
Trained with label-smoothed cross-entropy and, in the configs, Adam with the warm-up + inverse-square-root
schedule (eq. 3, `TrainConfig(schedule="warmup_inv_sqrt")`).

Decoding (`encode`, `step`): the state holds, per decoder layer l, the self-attention keys and values of every
position so far, "k_self.l", "v_self.l": (N, nh, t, dh), one row per hypothesis, growing by one position each step;
and the source side, once per sentence: the cross-attention keys and values "k_mem.l", "v_mem.l" (n, nh, S, dh),
projected once in `encode`, and "src_mask" (n, S), held as rows shared by every hypothesis (`share_rows`: searches
never copy them), with "sentence" (N,), each hypothesis's sentence among those n. When sentences finish, `step`
keeps only the running ones' source arrays. `Uncached(model)` decodes the same model by re-running the decoder
over the whole prefix each step: the reference for the cache's equivalence test and its speed-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from enc2dec.attention.masks import Packing, causal_mask, padding_mask
from enc2dec.attention.transformer_layers import TokenEmbedding, TransformerDecoder, TransformerEncoder
from enc2dec.data.batching import Batch
from enc2dec.layers import Embedding, Linear, TiedOutput, share_table
from enc2dec.losses import CrossEntropy
from enc2dec.nn import functional, init
from enc2dec.nn.checks import check_flags, check_float_field, check_int_field
from enc2dec.nn.module import Module
from enc2dec.specials import PAD_ID, DecoderState, by_sentence, group_by_sentence


@dataclass(frozen=True)
class TransformerConfig:
    model_size: int = 512  # Vaswani et al. base: d_model = 512
    n_heads: int = 8  # base: h = 8
    ff_size: int = 2048  # base: d_ff = 2048
    n_encoder_layers: int = 6  # base: N = 6
    n_decoder_layers: int = 6
    dropout: float = 0.1  # base: P_drop = 0.1 on sublayer outputs and embeddings (and after the FFN activation)
    attention_dropout: float = 0.0  # on the attention weights (the paper has none; fairseq's option)
    activation: str = "relu"  # the paper: ReLU; or "gelu" (tanh approximation)
    pre_norm: bool = True  # LayerNorm before each sublayer (Xiong et al. 2020); False: the paper's post-LN
    positions: str = "sinusoidal"  # the paper: sinusoidal (section 3.5); or "learned"
    max_positions: int = 512  # learned positions: table size; sinusoidal grows as needed
    share_embeddings: bool = False  # one table for source and target: needs one joint vocabulary
    tie_output: bool = True  # the paper: the output projection shares the target embedding's weight
    scale_embeddings: bool = True  # the paper: embeddings multiplied by sqrt(d_model)
    label_smoothing: float = 0.1  # the paper: epsilon_ls = 0.1

    def __post_init__(self) -> None:
        where = "TransformerConfig"
        names = ("model_size", "n_heads", "ff_size", "n_encoder_layers", "n_decoder_layers", "max_positions")
        for name in names:
            check_int_field(where, name, getattr(self, name), 1)
        for name in ("dropout", "attention_dropout", "label_smoothing"):
            check_float_field(where, name, getattr(self, name), 0.0, 1.0, "[)")
        check_flags(self)
        if self.model_size % self.n_heads:
            raise ValueError(
                f"TransformerConfig: model_size {self.model_size} must be divisible by n_heads {self.n_heads}"
            )
        if self.activation not in ("relu", "gelu"):
            raise ValueError(f"TransformerConfig.activation must be 'relu' or 'gelu', got {self.activation!r}")
        if self.positions not in ("sinusoidal", "learned"):
            raise ValueError(f"TransformerConfig.positions must be 'sinusoidal' or 'learned', got {self.positions!r}")


class Transformer(Module):
    """forward(batch) -> logits: (N, V) at the N real target positions (batch-major order); see the module doc."""

    def __init__(
        self, config: TransformerConfig, src_vocab_size: int, tgt_vocab_size: int, *, rng: np.random.Generator
    ):
        super().__init__()
        c = self.config = config
        D = c.model_size
        src_tokens = Embedding(src_vocab_size, D, rng=rng, padding_idx=PAD_ID)
        tgt_tokens = Embedding(tgt_vocab_size, D, rng=rng, padding_idx=PAD_ID)
        for emb in (src_tokens, tgt_tokens):  # N(0, 1/D), so that E * sqrt(D) has unit scale (fairseq)
            emb.weight.value[...] = init.normal(emb.weight.shape, D**-0.5, rng)
            emb.weight.value[PAD_ID] = 0
        if c.share_embeddings:
            share_table(src_tokens, tgt_tokens, "Transformer")
        embed = dict(
            rng=rng,
            positions=c.positions,
            max_positions=c.max_positions,
            scale=math.sqrt(D) if c.scale_embeddings else 1.0,
            dropout=c.dropout,
        )
        self.src_embed = TokenEmbedding(src_tokens, **embed)
        self.tgt_embed = TokenEmbedding(tgt_tokens, **embed)
        layer = dict(
            rng=rng,
            dropout=c.dropout,
            attention_dropout=c.attention_dropout,
            activation=c.activation,
            pre_norm=c.pre_norm,
        )
        self.encoder = TransformerEncoder(c.n_encoder_layers, D, c.n_heads, c.ff_size, **layer)
        self.decoder = TransformerDecoder(c.n_decoder_layers, D, c.n_heads, c.ff_size, **layer)
        self.output = TiedOutput(tgt_tokens) if c.tie_output else Linear(D, tgt_vocab_size, rng=rng)
        self.loss = CrossEntropy(ignore_index=PAD_ID, smoothing=c.label_smoothing)
        # what decoding may ask for (enc2dec.decoding.StepModel): learned positions end at max_positions (the
        # decoder's step t reads position t); sinusoidal ones grow as needed
        limit = c.max_positions if c.positions == "learned" else None
        self.max_source_length: int | None = limit
        self.max_target_length: int | None = limit

    # -- pieces shared by training and decoding ---------------------------------------------------------------------
    def _encode(self, src: np.ndarray, src_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, Packing]:
        """src: (B, S) -> memory: (N_S, D) at the real source positions, mask: (B, 1, S) True there, packing."""
        packing = Packing(src_lengths, src.shape[1])
        mask = padding_mask(src_lengths, src.shape[1])[:, None, :]  # (B, S) -> (B, 1, S)
        return self.encoder.forward(packing.pack(self.src_embed.forward(src)), mask, packing), mask, packing

    def _decode(
        self,
        tgt_in: np.ndarray,
        tgt_lengths: np.ndarray,
        memory: np.ndarray,
        mask: np.ndarray,
        memory_packing: Packing | None,
    ) -> tuple[np.ndarray, Packing]:
        """tgt_in: (B, T) = BOS y_1 ..., right-padded past tgt_lengths -> h: (N_T, D) at the real positions,
        their packing. Causal self-attention (right padding needs no more mask); memory as _encode's."""
        packing = Packing(tgt_lengths, tgt_in.shape[1])
        x = packing.pack(self.tgt_embed.forward(tgt_in))
        h = self.decoder.forward(x, memory, causal_mask(tgt_in.shape[1]), mask, packing, memory_packing)
        return h, packing

    def _project(self, h: np.ndarray) -> np.ndarray:
        """h: (N, D) -> logits: (N, V), no cache."""
        return self.output.apply(h)

    # -- training ---------------------------------------------------------------------------------------------------
    def forward(self, batch: Batch) -> np.ndarray:
        """batch.src: (B, S), batch.tgt: (B, T) = BOS ... EOS -> logits: (N, V) at the N real target positions,
        in batch-major order (sentence 0's positions first). Only attention sees the padding (masks.Packing)."""
        memory, mask, src_packing = self._encode(batch.src, batch.src_lengths)
        h, tgt_packing = self._decode(batch.tgt[:, :-1], batch.tgt_lengths - 1, memory, mask, src_packing)
        self._cache = (src_packing, tgt_packing)
        return self.output.forward(h)

    def backward(self, d_logits: np.ndarray) -> tuple[()]:
        # logits = h E^T + b (tied) or h W + b; then decoder, encoder
        src_packing, tgt_packing = self.pop_cache()
        dh = self.output.backward(d_logits)
        d_tgt, d_memory = self.decoder.backward(dh)
        self.tgt_embed.backward(tgt_packing.pad(d_tgt))
        self.src_embed.backward(src_packing.pad(self.encoder.backward(d_memory)))
        return ()

    def compute_loss(self, batch: Batch) -> tuple[float, int]:
        """Mean (label-smoothed) cross-entropy per target token, and the number of target tokens."""
        logits = self.forward(batch)
        real = np.arange(batch.tgt.shape[1] - 1)[None, :] < (batch.tgt_lengths - 1)[:, None]  # (B, T-1)
        target = batch.tgt[:, 1:][real]  # (N,), the logits' order
        return float(self.loss.forward(logits, target)), int(real.sum())

    def backward_loss(self) -> None:
        self.backward(self.loss.backward())

    # -- decoding with the KV cache (enc2dec.decoding.StepModel) ------------------------------------------------------
    @property
    def shared_state(self) -> tuple[str, ...]:
        """The state's arrays held once per sentence (shared rows): the source mask, keys and values."""
        return ("src_mask",) + tuple(
            f"{kind}.{i}" for i in range(len(self.decoder.layers)) for kind in ("k_mem", "v_mem")
        )

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        """src_ids: (B, S) -> state (module docstring): sentence (B,); shared by the rows: src_mask (B, S) and per
        layer l k_mem.l, v_mem.l (B, nh, S, dh), projected once; per row: k_self.l, v_self.l (B, nh, 0, dh)."""
        memory, mask, packing = self._encode(src_ids, src_lengths)
        self.clear_cache()
        B, nh = src_ids.shape[0], self.config.n_heads
        empty = np.zeros((B, nh, 0, self.config.model_size // nh), dtype=memory.dtype)
        state: DecoderState = {"src_mask": mask[:, 0, :]}
        for i, layer in enumerate(self.decoder.layers):
            state[f"k_mem.{i}"], state[f"v_mem.{i}"] = layer.cross_attn.sublayer.project_memory(memory, packing)
            state[f"k_self.{i}"], state[f"v_self.{i}"] = empty, empty
        return by_sentence(state, self.shared_state)

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        """prev_ids: (N,) -> log_probs: (N, V) float32, the state with each layer's cache one position longer.
        Only the newest position is computed. Caches nothing for backward."""
        state = group_by_sentence(state, self.shared_state)
        t = state["k_self.0"].shape[2]
        x = self.tgt_embed.step(prev_ids, t)  # (N, 1, D)
        n = len(self.decoder.layers)
        caches = [(state[f"k_self.{i}"], state[f"v_self.{i}"], state[f"k_mem.{i}"][0], state[f"v_mem.{i}"][0])
                  for i in range(n)]  # fmt: skip
        h, new = self.decoder.step(x, caches, state["src_mask"][0][:, None, :])
        state = dict(state)
        for i, (k, v) in enumerate(new):
            state[f"k_self.{i}"], state[f"v_self.{i}"] = k, v
        logits = self._project(h[:, 0])  # (N, V)
        return functional.log_softmax(logits, out=logits), state


class Uncached:
    """The same model decoded without a cache: every step re-runs embeddings and decoder over the whole prefix,
    cross-attention projections included, and keeps the last position. state: memory (B, S, D), src_mask (B, S),
    prefix (B, t) int64. A StepModel, for the cache-equivalence test and the cache's speed-up."""

    def __init__(self, model: Transformer):
        self.model = model
        self.max_source_length = model.max_source_length
        self.max_target_length = model.max_target_length

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> DecoderState:
        memory, mask, packing = self.model._encode(src_ids, src_lengths)
        self.model.clear_cache()
        prefix = np.zeros((src_ids.shape[0], 0), dtype=np.int64)
        return {"memory": packing.pad(memory), "src_mask": mask[:, 0, :], "prefix": prefix}

    def step(self, prev_ids: np.ndarray, state: DecoderState) -> tuple[np.ndarray, DecoderState]:
        prefix = np.concatenate([state["prefix"], prev_ids[:, None]], axis=1)  # (B, t) -> (B, t + 1)
        B, t = prefix.shape
        h, _ = self.model._decode(
            prefix, np.full(B, t), state["memory"], state["src_mask"][:, None, :], None
        )  # (B * t, D): every prefix position is real
        self.model.clear_cache()
        log_probs = functional.log_softmax(self.model._project(h.reshape(B, t, -1)[:, -1]))
        return log_probs, {**state, "prefix": prefix}
