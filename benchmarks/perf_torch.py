"""The PyTorch twins of the benchmark's sequence models (benchmarks/perf_models.py), written as a PyTorch user would,
and the copies of enc2dec's weights into them. Imported only by the PyTorch builders: an enc2dec memory probe never
loads torch.

Each twin offers `loss(src, src_len, tgt, tgt_len)` for training and `encode` / `step` on tensors for the searches
of perf_search.py. Layout differences handled by the copies: enc2dec's Linear weight is (in, out), PyTorch's
(out, in); enc2dec's LSTM gates are i, f, o, g and PyTorch's i, f, g, o (enc2dec/recurrent/lstm.py); GRU gates are
r, z, n in both, with enc2dec's bias_hn as PyTorch's bias_hh n block (enc2dec/recurrent/gru.py); enc2dec's fused
qkv is PyTorch's in_proj_weight transposed, and its cross-attention q and kv are in_proj's rows [:D] and [D:]
(tests/parity/test_transformer_torch.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD = 0


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def _copy(dst: torch.Tensor, src: np.ndarray) -> None:
    with torch.no_grad():
        dst.copy_(_t(src))


def copy_linear(dst: nn.Linear, weight: np.ndarray, bias: np.ndarray | None) -> None:
    _copy(dst.weight, weight.T)  # ours (in, out), theirs (out, in)
    if bias is not None:
        _copy(dst.bias, bias)


def copy_recurrent(dst: nn.RNNBase, stacked: Any) -> None:
    """enc2dec Stacked (lstm or gru, uni- or bidirectional) -> torch.nn.LSTM / GRU of the same shape."""
    H = stacked.hidden_size
    blocks = {"lstm": [0, 1, 3, 2], "gru": [0, 1, 2]}[stacked.cell]
    idx = np.concatenate([np.arange(b * H, (b + 1) * H) for b in blocks])  # our columns in PyTorch's gate order
    for i, block in enumerate(stacked.layers):
        pairs = (
            [("", block.forward_layer), ("_reverse", block.reverse_layer)] if stacked.bidirectional else [("", block)]
        )
        for suffix, layer in pairs:
            _copy(getattr(dst, f"weight_ih_l{i}{suffix}"), layer.w_x.value[:, idx].T)
            _copy(getattr(dst, f"weight_hh_l{i}{suffix}"), layer.w_h.value[:, idx].T)
            _copy(getattr(dst, f"bias_ih_l{i}{suffix}"), layer.bias.value[idx])
            bias_hh = np.zeros(len(idx), dtype=np.float32)
            if stacked.cell == "gru":
                bias_hh[2 * H :] = layer.bias_hn.value
            _copy(getattr(dst, f"bias_hh_l{i}{suffix}"), bias_hh)


# -- the Sutskever LSTM ------------------------------------------------------------------------------------------
class LSTMSeq2Seq(nn.Module):
    """Embeddings -> LSTM encoder (packed; final states) -> LSTM decoder -> Linear; cross-entropy on real targets."""

    def __init__(self, src_vocab: int, tgt_vocab: int, embed: int, hidden: int, layers: int):
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab, embed, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=PAD)
        self.encoder = nn.LSTM(embed, hidden, layers)
        self.decoder = nn.LSTM(embed, hidden, layers)
        self.output = nn.Linear(hidden, tgt_vocab)

    def _context(self, src, src_len):
        _, context = self.encoder(pack_padded_sequence(self.src_embed(src.T), src_len, enforce_sorted=False))
        return context  # (h, c): (L, B, H) each

    def loss(self, src, src_len, tgt, tgt_len):
        h_seq, _ = self.decoder(self.tgt_embed(tgt[:, :-1].T), self._context(src, src_len))  # (T, B, H)
        real = tgt[:, 1:].T != PAD  # padding comes after the real steps, which it cannot change
        return F.cross_entropy(self.output(h_seq[real]), tgt[:, 1:].T[real])

    def encode(self, src, src_len) -> dict:
        h, c = self._context(src, src_len)
        return {"h": h.transpose(0, 1), "c": c.transpose(0, 1)}  # batch on axis 0: (B, L, H)

    def step(self, prev, state) -> tuple:
        hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
        out, (h, c) = self.decoder(self.tgt_embed(prev)[None], hc)  # (1, B, H)
        return F.log_softmax(self.output(out[0]), dim=-1), {"h": h.transpose(0, 1), "c": c.transpose(0, 1)}

    def copy_from(self, ours: Any) -> None:
        """ours: enc2dec.models.seq2seq.Seq2Seq of the same sizes."""
        _copy(self.src_embed.weight, ours.src_embed.weight.value)
        _copy(self.tgt_embed.weight, ours.tgt_embed.weight.value)
        copy_recurrent(self.encoder, ours.encoder)
        copy_recurrent(self.decoder, ours.decoder)
        copy_linear(self.output, ours.output.weight.value, ours.output.bias.value)


# -- the attention GRU -------------------------------------------------------------------------------------------
class AttentionGRU(nn.Module):
    """Bidirectional GRU encoder (packed) -> memory; tanh(Linear) bridge from the final states of both directions
    to the decoder's initial state; GRU decoder; Luong's general attention after each step (keys = memory W_a),
    h~ = tanh(W_c [c; s]); Linear -> label-smoothed cross-entropy on real targets. enc2dec's AttentionSeq2Seq with
    attention="luong", score="general", no input feeding, one layer each side, no dropout."""

    def __init__(self, src_vocab: int, tgt_vocab: int, embed: int, hidden: int, encoder_hidden: int, smoothing: float):
        super().__init__()
        M = 2 * encoder_hidden
        self.src_embed = nn.Embedding(src_vocab, embed, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=PAD)
        self.encoder = nn.GRU(embed, encoder_hidden, bidirectional=True)
        self.bridge = nn.Linear(M, hidden)
        self.decoder = nn.GRU(embed, hidden)
        self.attention = nn.Linear(M, hidden, bias=False)
        self.combine = nn.Linear(M + hidden, hidden)
        self.output = nn.Linear(hidden, tgt_vocab)
        self.smoothing = smoothing

    def _encode(self, src, src_len):
        packed, h_n = self.encoder(pack_padded_sequence(self.src_embed(src.T), src_len, enforce_sorted=False))
        memory, _ = pad_packed_sequence(packed, batch_first=True, total_length=src.shape[1])  # (B, S, M)
        h0 = torch.tanh(self.bridge(torch.cat([h_n[-2], h_n[-1]], dim=1)))  # (B, H)
        mask = torch.arange(src.shape[1])[None, :] < src_len[:, None]  # (B, S), True at real positions
        return memory, self.attention(memory), mask, h0

    @staticmethod
    def _attend(query, keys, memory, mask):
        """query: (B, T, H) -> context: (B, T, M)."""
        scores = torch.bmm(query, keys.transpose(1, 2)).masked_fill(~mask[:, None, :], float("-inf"))
        return torch.bmm(torch.softmax(scores, dim=-1), memory)

    def loss(self, src, src_len, tgt, tgt_len):
        memory, keys, mask, h0 = self._encode(src, src_len)
        s, _ = self.decoder(self.tgt_embed(tgt[:, :-1].T), h0[None])  # (T, B, H)
        query = s.transpose(0, 1)  # (B, T, H)
        context = self._attend(query, keys, memory, mask)  # (B, T, M)
        real = tgt[:, 1:] != PAD  # (B, T)
        h = torch.tanh(self.combine(torch.cat([context[real], query[real]], dim=1)))  # (N, H)
        return F.cross_entropy(self.output(h), tgt[:, 1:][real], label_smoothing=self.smoothing)

    def encode(self, src, src_len) -> dict:
        memory, keys, mask, h0 = self._encode(src, src_len)
        return {"h": h0, "memory": memory, "keys": keys, "mask": mask}

    def step(self, prev, state) -> tuple:
        out, _ = self.decoder(self.tgt_embed(prev)[None], state["h"][None])
        s = out[0]  # (B, H)
        context = self._attend(s[:, None], state["keys"], state["memory"], state["mask"])[:, 0]  # (B, M)
        h = torch.tanh(self.combine(torch.cat([context, s], dim=1)))
        return F.log_softmax(self.output(h), dim=-1), {**state, "h": s}

    def copy_from(self, ours: Any) -> None:
        """ours: enc2dec.models.attention_seq2seq.AttentionSeq2Seq (luong, general, one layer each side)."""
        _copy(self.src_embed.weight, ours.src_embed.weight.value)
        _copy(self.tgt_embed.weight, ours.tgt_embed.weight.value)
        copy_recurrent(self.encoder, ours.encoder)
        copy_recurrent(self.decoder, ours.decoder)
        copy_linear(self.bridge, ours.bridge.weight.value, ours.bridge.bias.value)
        copy_linear(self.attention, ours.attention.weight.value, None)
        copy_linear(self.combine, ours.combine.weight.value, ours.combine.bias.value)
        copy_linear(self.output, ours.output.weight.value, ours.output.bias.value)


# -- the Transformer ---------------------------------------------------------------------------------------------
class TransformerSeq2Seq(nn.Module):
    """torch.nn.Transformer (pre-LN, batch-first, no dropout) with token embeddings * sqrt(D) + sinusoidal positions
    (enc2dec's table), the output projection tied to the target embedding plus a bias, label-smoothed cross-entropy
    on real targets. Decoding re-runs the decoder over the whole prefix each step (nn.Transformer has no cache)."""

    def __init__(self, src_vocab: int, tgt_vocab: int, size: int, heads: int, ff: int, layers: tuple[int, int],
                 smoothing: float, positions: np.ndarray):  # fmt: skip
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab, size, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, size, padding_idx=PAD)
        self.transformer = nn.Transformer(size, heads, layers[0], layers[1], ff, dropout=0.0, batch_first=True,
                                          norm_first=True)  # fmt: skip
        self.output_bias = nn.Parameter(torch.zeros(tgt_vocab))
        self.register_buffer("positions", _t(positions))
        self.scale = math.sqrt(size)
        self.smoothing = smoothing

    def _embed(self, table: nn.Embedding, ids):
        return table(ids) * self.scale + self.positions[: ids.shape[1]]

    def _encode(self, src, src_len):
        padded = torch.arange(src.shape[1])[None, :] >= src_len[:, None]  # (B, S), True = ignore
        return self.transformer.encoder(self._embed(self.src_embed, src), src_key_padding_mask=padded), padded

    def _decode(self, tgt_in, memory, padded):
        T = tgt_in.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)  # True = may not look
        x = self._embed(self.tgt_embed, tgt_in)
        return self.transformer.decoder(x, memory, tgt_mask=causal, memory_key_padding_mask=padded)

    def loss(self, src, src_len, tgt, tgt_len):
        memory, padded = self._encode(src, src_len)
        h = self._decode(tgt[:, :-1], memory, padded)  # (B, T, D)
        real = tgt[:, 1:] != PAD
        logits = F.linear(h[real], self.tgt_embed.weight, self.output_bias)  # (N, V)
        return F.cross_entropy(logits, tgt[:, 1:][real], label_smoothing=self.smoothing)

    def encode(self, src, src_len) -> dict:
        memory, padded = self._encode(src, src_len)
        return {"memory": memory, "padded": padded, "prefix": torch.zeros(src.shape[0], 0, dtype=torch.long)}

    def step(self, prev, state) -> tuple:
        prefix = torch.cat([state["prefix"], prev[:, None]], dim=1)  # (B, t + 1)
        h = self._decode(prefix, state["memory"], state["padded"])[:, -1]  # the whole prefix, then its last
        logits = F.linear(h, self.tgt_embed.weight, self.output_bias)
        return F.log_softmax(logits, dim=-1), {**state, "prefix": prefix}

    def copy_from(self, ours: Any) -> None:
        """ours: enc2dec.models.transformer.Transformer (pre-LN, tied output, separate source and target tables)."""
        _copy(self.src_embed.weight, ours.src_embed.tokens.weight.value)
        _copy(self.tgt_embed.weight, ours.tgt_embed.tokens.weight.value)
        _copy(self.output_bias, ours.output.bias.value)

        def mha(dst: nn.MultiheadAttention, src: Any) -> None:
            if src.cross:
                weight = np.concatenate([src.q.weight.value, src.kv.weight.value], axis=1)  # (D, 3D): [q | k | v]
                bias = np.concatenate([src.q.bias.value, src.kv.bias.value])
            else:
                weight, bias = src.qkv.weight.value, src.qkv.bias.value
            _copy(dst.in_proj_weight, weight.T)
            _copy(dst.in_proj_bias, bias)
            copy_linear(dst.out_proj, src.out.weight.value, src.out.bias.value)

        def norm(dst: nn.LayerNorm, src: Any) -> None:
            _copy(dst.weight, src.weight.value)
            _copy(dst.bias, src.bias.value)

        def ff(dst: Any, src: Any) -> None:
            copy_linear(dst.linear1, src.sublayer[0].weight.value, src.sublayer[0].bias.value)
            copy_linear(dst.linear2, src.sublayer[3].weight.value, src.sublayer[3].bias.value)

        for dst, src in zip(self.transformer.encoder.layers, ours.encoder.layers):
            mha(dst.self_attn, src.self_attn.sublayer)
            ff(dst, src.ff)
            norm(dst.norm1, src.self_attn.norm)
            norm(dst.norm2, src.ff.norm)
        for dst, src in zip(self.transformer.decoder.layers, ours.decoder.layers):
            mha(dst.self_attn, src.self_attn.sublayer)
            mha(dst.multihead_attn, src.cross_attn.sublayer)
            ff(dst, src.ff)
            norm(dst.norm1, src.self_attn.norm)
            norm(dst.norm2, src.cross_attn.norm)
            norm(dst.norm3, src.ff.norm)
        norm(self.transformer.encoder.norm, ours.encoder.final_norm)
        norm(self.transformer.decoder.norm, ours.decoder.final_norm)


# -- the runner --------------------------------------------------------------------------------------------------
def runner(model: nn.Module, batches: list, tests: list, clip: float, lr: float) -> Any:
    """A perf_models.Runner for a twin: Adam, global-norm clipping, greedy and beam search from perf_search."""
    import perf_models
    import perf_search

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = [tuple(torch.from_numpy(a) for a in b) for b in batches]
    test_data = [tuple(torch.from_numpy(a) for a in b) for b in tests]

    def step(i: int) -> float:
        opt.zero_grad()
        loss = model.loss(*data[i])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss.item()

    run = perf_models.Runner(step, model=model)
    run.add_decoding(perf_search.greedy, perf_search.beam, model, test_data)
    return run
