"""Encoder-decoder networks for real-valued sequences: a multi-step forecaster and a sequence autoencoder.

Both read a series step by step through an input projection, x_s -> [x_s; f_s] W + b (1 + F inputs: the value and
F exogenous features such as sin/cos of the week of the year), which takes the place of an embedding, into a
`Stacked` recurrent encoder.

Forecaster (the sequence-to-sequence model of Sutskever et al. 2014 with real values): the encoder's final states
are the context that starts a recurrent decoder, which predicts the horizon one step at a time; decoder step t
reads [y_{t-1}; f_t] (the previous value and that step's features, known in advance), and a head maps its output
to y_t (linear head, trained on MSE) or to (mu_t, logvar_t) (Gaussian head, trained on the Gaussian negative
log-likelihood). With `attention` the decoder output s_t also reads the encoder outputs through Luong attention
(eq. 8 scores), h~_t = tanh(W_c [c_t; s_t]) (eq. 5), before the head. Training uses teacher forcing: the decoder
reads the true previous values, all horizon steps as one sequence; `scheduled_sampling` p replaces a share p of
them by the model's own predictions from a first teacher-forced pass (the parallel form of scheduled sampling,
Bengio et al. 2015; Duckworth et al. 2019), used as data. `forecast` decodes autoregressively, feeding each
predicted (mean) value back, through `Stacked.step`, caching nothing.

SequenceAutoencoder (Srivastava, Mansimov & Salakhutdinov 2015): the encoder reads a padded batch of series of
different lengths; a linear map of its final h states (all layers) is the context vector (B, C), the fixed-size
summary that `encode` returns. The decoder starts from tanh(Linear(context)) and is unconditioned: it reads only
the step features (zeros without), never the values, so everything it reconstructs passes through the context; it
reconstructs each series reversed within its length (the paper's choice: the last steps first, next to the
context). Positions past a series' length give 0 and get no gradient.

Batch-first at the boundary: src (B, S), tgt (B, T), features (B, S, F); time-major inside the recurrent layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from enc2dec.attention import LuongAttention
from enc2dec.layers import Dropout, Linear, Tanh
from enc2dec.losses import MSE, GaussianNLL
from enc2dec.nn.checks import check_flags, check_float, check_float_field, check_int_field
from enc2dec.nn.module import Module
from enc2dec.recurrent import Stacked, reverse_padded

CELLS = ("lstm", "gru", "rnn")
HEADS = ("linear", "gaussian")
ATTENTION = ("none", "dot", "general", "concat")


def _check_sizes(config: Any, sizes: tuple[str, ...]) -> None:
    """The fields both recurrent series configs share: sizes >= 1, feature_size >= 0, dropout in [0, 1), flags."""
    where = type(config).__name__
    for name in sizes:
        check_int_field(where, name, getattr(config, name), 1)
    check_int_field(where, "feature_size", config.feature_size, 0, note="0: no exogenous features")
    check_float_field(where, "dropout", config.dropout, 0.0, 1.0, "[)")
    check_flags(config)


@dataclass(frozen=True)
class ForecasterConfig:
    cell: str = "lstm"  # lstm | gru | rnn, encoder and decoder
    embed_size: int = 32  # width of the input projection (in place of an embedding)
    hidden_size: int = 64
    n_layers: int = 1
    dropout: float = 0.0  # between layers and before the head
    feature_size: int = 0  # F, exogenous features per step, read by encoder and decoder
    head: str = "linear"  # linear (MSE) | gaussian (mean and log-variance, Gaussian NLL)
    attention: str = "none"  # none | dot | general | concat: Luong et al. (2015) eq. 8 over the encoder outputs
    scheduled_sampling: float = 0.0  # share of decoder inputs replaced by the model's own predictions in training

    def __post_init__(self) -> None:
        for name, value, allowed in (("cell", self.cell, CELLS), ("head", self.head, HEADS),
                                     ("attention", self.attention, ATTENTION)):  # fmt: skip
            if value not in allowed:
                raise ValueError(f"ForecasterConfig.{name} must be one of {allowed}, got {value!r}")
        _check_sizes(self, ("embed_size", "hidden_size", "n_layers"))
        check_float_field("ForecasterConfig", "scheduled_sampling", self.scheduled_sampling, 0.0, 1.0)


def _step_inputs(owner: Module, values: Any, features: Any, F: int, name: str) -> np.ndarray:
    """values: (B, T), features: (B, T, F) or None (F = 0) -> time-major inputs (T, B, 1 + F) in owner's dtype."""
    check_float(owner, name, values, owner.dtype)
    if values.ndim != 2:
        raise ValueError(f"{owner!r}: {name} must have shape (B, T), got {values.shape}")
    B, T = values.shape
    x = np.empty((T, B, 1 + F), dtype=values.dtype)
    x[..., 0] = values.T
    if features is None:
        if F:
            raise ValueError(f"{owner!r}: {name}_features (B, T, {F}) are needed, got None")
        return x
    check_float(owner, f"{name}_features", features, owner.dtype)
    if features.shape != (B, T, F):
        raise ValueError(f"{owner!r}: {name}_features must have shape {(B, T, F)}, got {features.shape}")
    x[..., 1:] = features.transpose(1, 0, 2)
    return x


def _split_grad(dx: np.ndarray, has_features: bool) -> tuple[np.ndarray, ...]:
    """dx: (T, B, 1 + F), the gradient of `_step_inputs` -> d_values (B, T) and, with features, d_features."""
    d_values = np.ascontiguousarray(dx[..., 0].T)  # (T, B) -> (B, T)
    return (d_values, np.ascontiguousarray(dx[..., 1:].transpose(1, 0, 2))) if has_features else (d_values,)


class Forecaster(Module):
    """Input projection -> Stacked encoder -> context (final states) -> Stacked decoder [-> attention] -> head."""

    def __init__(self, config: ForecasterConfig, *, rng: np.random.Generator):
        super().__init__()
        self.config = c = config
        E, H, n_in = c.embed_size, c.hidden_size, 1 + c.feature_size
        self.src_proj = Linear(n_in, E, rng=rng)
        self.encoder = Stacked(c.cell, E, H, c.n_layers, dropout=c.dropout, rng=rng)
        self.tgt_proj = Linear(n_in, E, rng=rng)
        self.decoder = Stacked(c.cell, E, H, c.n_layers, dropout=c.dropout, rng=rng)
        self.attention = None if c.attention == "none" else LuongAttention(H, H, c.attention, rng=rng)
        if self.attention is not None:
            self.combine = Linear(2 * H, H, rng=rng)  # h~ = tanh(W_c [c; s]), Luong eq. 5
            self.combine_act = Tanh()
        self.output_dropout = Dropout(c.dropout, rng=rng)
        self.head = Linear(H, 2 if c.head == "gaussian" else 1, rng=rng)
        self.loss = GaussianNLL() if c.head == "gaussian" else MSE()
        self.rng = rng  # scheduled sampling

    # -- training ---------------------------------------------------------------------------------------------------
    def forward(
        self,
        src: np.ndarray,
        dec_in: np.ndarray,
        src_features: np.ndarray | None = None,
        tgt_features: np.ndarray | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """src: (B, S) input values, dec_in: (B, T) the decoder's input values (teacher forcing: the last input
        value, then the targets but the last), src_features: (B, S, F), tgt_features: (B, T, F), None when F = 0
        -> y: (B, T); for the Gaussian head (mu, logvar): (B, T) each."""
        F = self.config.feature_size
        x = self.src_proj.forward(_step_inputs(self, src, src_features, F, "src"))  # (S, B, 1+F) -> (S, B, E)
        memory, context = self.encoder.forward(x)  # (S, B, H), final states
        y_in = self.tgt_proj.forward(_step_inputs(self, dec_in, tgt_features, F, "dec_in"))  # (T, B, E)
        s, _ = self.decoder.forward(y_in, None, context)  # (T, B, H)
        query = s.transpose(1, 0, 2)  # (T, B, H) -> (B, T, H)
        if self.attention is not None:
            attended, _ = self.attention.forward(query, memory.transpose(1, 0, 2))  # (B, T, H)
            query = self.combine_act.forward(self.combine.forward(np.concatenate([attended, query], axis=2)))
        out = self.head.forward(self.output_dropout.forward(query))  # (B, T, H) -> (B, T, 1 or 2)
        self._cache = (src_features is not None, tgt_features is not None)
        return (out[..., 0], out[..., 1]) if self.config.head == "gaussian" else out[..., 0]

    def backward(self, dy: np.ndarray, d_logvar: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """dy: (B, T) (d_mu for the Gaussian head), d_logvar: (B, T) or None -> the gradients of src, dec_in, and
        of src_features and tgt_features where given."""
        # the head is linear in h~ (or s); attention's context delta flows into the memory, the decoder's
        # into the context (the encoder's final states), as in seq2seq
        has_src_f, has_tgt_f = self.pop_cache()
        d_out = dy[..., None] if d_logvar is None else np.stack([dy, d_logvar], axis=-1)  # (B, T, 1 or 2)
        d_query = self.output_dropout.backward(self.head.backward(d_out))  # (B, T, H)
        d_memory = None
        if self.attention is not None:
            H = self.config.hidden_size
            d_cat = self.combine.backward(self.combine_act.backward(d_query))  # (B, T, 2H)
            d_query, d_mem = self.attention.backward(d_cat[..., :H])
            d_query += d_cat[..., H:]
            d_memory = d_mem.transpose(1, 0, 2)  # (B, S, H) -> (S, B, H)
        d_y_in, d_context = self.decoder.backward(d_query.transpose(1, 0, 2), None)  # (T, B, E)
        dx = self.encoder.backward(d_memory, d_context)  # (S, B, E)
        src_grads = _split_grad(self.src_proj.backward(dx), has_src_f)
        dec_grads = _split_grad(self.tgt_proj.backward(d_y_in), has_tgt_f)
        return (src_grads[0], dec_grads[0], *src_grads[1:], *dec_grads[1:])

    def compute_loss(self, batch: tuple[np.ndarray, ...]) -> tuple[float, int]:
        """batch: (src (B, S), tgt (B, T), src_features (B, S, F), tgt_features (B, T, F)) -> (mean loss per
        target value, B*T); teacher forcing (with scheduled sampling in training)."""
        src, tgt, src_f, tgt_f = self._batch(batch)
        dec_in = np.concatenate([src[:, -1:], tgt[:, :-1]], axis=1)  # (B, T)
        if self.training and self.config.scheduled_sampling > 0 and tgt.shape[1] > 1:
            dec_in = self._scheduled_inputs(src, dec_in, src_f, tgt_f)
        out = self.forward(src, dec_in, src_f, tgt_f)
        loss = self.loss.forward(*out, tgt) if isinstance(out, tuple) else self.loss.forward(out, tgt)
        return float(loss), tgt.size

    def backward_loss(self) -> None:
        grads = self.loss.backward()
        self.backward(*grads) if isinstance(grads, tuple) else self.backward(grads)

    def _batch(self, batch: tuple[np.ndarray, ...]) -> tuple:
        src, tgt, src_f, tgt_f = batch
        return (src, tgt, None, None) if self.config.feature_size == 0 else (src, tgt, src_f, tgt_f)

    def _scheduled_inputs(self, src, dec_in, src_f, tgt_f) -> np.ndarray:
        """Replace a random share of decoder inputs (never the first) by the predictions of a teacher-forced pass."""
        out = self.forward(src, dec_in, src_f, tgt_f)
        self.clear_cache()
        predicted = out[0] if isinstance(out, tuple) else out  # (B, T)
        replace = self.rng.random(dec_in.shape) < self.config.scheduled_sampling
        replace[:, 0] = False
        mixed = dec_in.copy()
        mixed[:, 1:][replace[:, 1:]] = predicted[:, :-1][replace[:, 1:]]
        return mixed

    # -- forecasting ------------------------------------------------------------------------------------------------
    def forecast(
        self,
        src: np.ndarray,
        horizon: int,
        src_features: np.ndarray | None = None,
        tgt_features: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Autoregressive: src: (B, S), tgt_features: (B, T, F) (T = horizon) -> mu: (B, T), and logvar: (B, T)
        for the Gaussian head (else None). Each step reads the previous step's predicted mean. Caches nothing."""
        c = self.config
        B = src.shape[0] if isinstance(src, np.ndarray) else 0
        if c.feature_size:
            _step_inputs(self, np.zeros((B, horizon), self.dtype), tgt_features, c.feature_size, "tgt")  # checks
        was_training = self.training
        self.eval()
        x = self.src_proj.apply(_step_inputs(self, src, src_features, c.feature_size, "src"))  # (S, B, E)
        memory, state = self.encoder.forward(x)
        self.clear_cache()
        self.train(was_training)
        memory = memory.transpose(1, 0, 2)  # (B, S, H)
        keys = None if self.attention is None else self.attention.project_memory(memory)
        out = np.empty((B, horizon, self.head.weight.shape[1]), dtype=src.dtype)
        prev = src[:, -1]
        step_in = np.empty((B, 1 + c.feature_size), dtype=src.dtype)  # [y_{t-1}; f_t], refilled each step
        for t in range(horizon):
            step_in[:, 0] = prev
            if c.feature_size:
                step_in[:, 1:] = tgt_features[:, t]
            s, state = self.decoder.step(self.tgt_proj.apply(step_in), state)  # (B, H)
            if self.attention is not None:
                attended, _, _ = self.attention.attend(s[:, None], keys, memory, None)  # (B, 1, H)
                s = np.tanh(self.combine.apply(np.concatenate([attended[:, 0], s], axis=1)))
            out[:, t] = self.head.apply(s)
            prev = out[:, t, 0]
        return (out[..., 0], out[..., 1]) if c.head == "gaussian" else (out[..., 0], None)

    def extra_repr(self) -> str:
        c = self.config
        return f"{c.cell}, hidden {c.hidden_size}, layers {c.n_layers}, head {c.head}, attention {c.attention}"


# -- the sequence autoencoder ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SequenceAutoencoderConfig:
    cell: str = "lstm"
    embed_size: int = 16  # width of the encoder's input projection
    hidden_size: int = 64
    n_layers: int = 1
    context_size: int = 2  # C
    dropout: float = 0.0  # between layers
    feature_size: int = 0  # F, exogenous features per step, read by the encoder and (alone) by the decoder
    reverse_target: bool = True  # Srivastava et al. (2015): reconstruct in reverse order

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"SequenceAutoencoderConfig.cell must be one of {CELLS}, got {self.cell!r}")
        _check_sizes(self, ("embed_size", "hidden_size", "n_layers", "context_size"))


class SequenceAutoencoder(Module):
    """x: (B, S), lengths: (B,) -> context: (B, C) -> reconstruction: (B, S), zero past each length."""

    def __init__(self, config: SequenceAutoencoderConfig, *, rng: np.random.Generator):
        super().__init__()
        self.config = c = config
        L, H = c.n_layers, c.hidden_size
        self.src_proj = Linear(1 + c.feature_size, c.embed_size, rng=rng)
        self.encoder = Stacked(c.cell, c.embed_size, H, L, dropout=c.dropout, rng=rng)
        self.to_context = Linear(L * H, c.context_size, rng=rng)  # a linear code, as PCA's
        self.bridge = Linear(c.context_size, L * H, rng=rng)
        self.bridge_act = Tanh()
        self.decoder = Stacked(c.cell, max(c.feature_size, 1), H, L, dropout=c.dropout, rng=rng)
        self.head = Linear(H, 1, rng=rng)
        self.loss = MSE()

    def _lengths(self, B: int, S: int, lengths: np.ndarray | None) -> np.ndarray:
        """lengths: (B,) int in [1, S] or None -> (B,) int64, all S when None."""
        if lengths is None:
            return np.full(B, S, dtype=np.int64)
        lengths = np.asarray(lengths)
        if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"{self!r}: lengths must be a ({B},) integer array, got {lengths.dtype} {lengths.shape}")
        if B and (lengths.min() < 1 or lengths.max() > S):
            raise ValueError(f"{self!r}: lengths must be in [1, {S}], got [{lengths.min()}, {lengths.max()}]")
        return lengths.astype(np.int64, copy=False)

    def _encode(self, x, lengths, features) -> tuple[np.ndarray, np.ndarray]:
        """x: (B, S), lengths: (B,) or None, features: (B, S, F) or None -> context: (B, C), lengths (B,) int64;
        caches in the layers."""
        c = self.config
        inputs = self.src_proj.forward(_step_inputs(self, x, features, c.feature_size, "x"))  # (S, B, E)
        lengths = self._lengths(*x.shape, lengths)
        _, final = self.encoder.forward(inputs, lengths)
        h = final[0] if self.encoder.has_cell else final  # (L, B, H)
        return self.to_context.forward(h.transpose(1, 0, 2).reshape(x.shape[0], -1)), lengths  # (B, L*H) -> (B, C)

    def _decode(self, context, lengths, features, S: int) -> np.ndarray:
        """context: (B, C) -> reconstruction (B, S) in the original order, zero past each length."""
        c = self.config
        B = context.shape[0]
        h0 = self.bridge_act.forward(self.bridge.forward(context))  # (B, L*H)
        h0 = np.ascontiguousarray(h0.reshape(B, c.n_layers, c.hidden_size).transpose(1, 0, 2))  # (L, B, H)
        state = (h0, np.zeros_like(h0)) if self.decoder.has_cell else h0
        if features is None:
            dec_x = np.zeros((S, B, 1), dtype=context.dtype)
        else:
            dec_x = np.ascontiguousarray(features.transpose(1, 0, 2))  # (S, B, F)
            if c.reverse_target:
                dec_x = reverse_padded(dec_x, lengths)
        s, _ = self.decoder.forward(dec_x, lengths, state)  # (S, B, H)
        y = self.head.forward(s)[..., 0]  # (S, B)
        y *= np.arange(S)[:, None] < lengths[None, :]  # the head's bias must not leak into padding
        if c.reverse_target:
            y = reverse_padded(y, lengths)
        return np.ascontiguousarray(y.T)  # (S, B) -> (B, S)

    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None, features: np.ndarray | None = None):
        """x: (B, S), lengths: (B,) int or None (all S), features: (B, S, F) or None (F = 0) -> (B, S)."""
        context, lengths = self._encode(x, lengths, features)
        y = self._decode(context, lengths, features, x.shape[1])
        self._cache = (lengths, features is not None)
        return y

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, ...]:
        """dy: (B, S) -> dx: (B, S) (zero past each length), and d_features (B, S, F) when features were given."""
        # y = head(decoder(tanh(bridge(context)))), context = to_context(h_final): the context delta is the
        # bridge's input gradient, which reaches the encoder through its final h states only
        lengths, has_features = self.pop_cache()
        c = self.config
        B, S = dy.shape
        d = dy.T * (np.arange(S)[:, None] < lengths[None, :])  # (S, B), zero at padding
        if c.reverse_target:
            d = reverse_padded(d, lengths)
        ds = self.head.backward(np.ascontiguousarray(d)[..., None])  # (S, B, H)
        d_dec_x, d_state = self.decoder.backward(ds, None)
        dh0 = d_state[0] if self.decoder.has_cell else d_state  # (L, B, H); c0 is a constant zero
        d_context = self.bridge.backward(self.bridge_act.backward(dh0.transpose(1, 0, 2).reshape(B, -1)))
        dh_final = self.to_context.backward(d_context).reshape(B, c.n_layers, -1).transpose(1, 0, 2)  # (L, B, H)
        dh_final = np.ascontiguousarray(dh_final)
        d_final = (dh_final, np.zeros_like(dh_final)) if self.encoder.has_cell else dh_final
        grads = _split_grad(self.src_proj.backward(self.encoder.backward(None, d_final)), has_features)
        if not has_features:
            return grads
        if c.reverse_target:
            d_dec_x = reverse_padded(d_dec_x, lengths)
        return grads[0], grads[1] + d_dec_x.transpose(1, 0, 2)

    def compute_loss(self, batch: tuple[np.ndarray, ...]) -> tuple[float, int]:
        """batch: (x (B, S), lengths (B,), features (B, S, F)) -> (MSE over the real positions, their number)."""
        x, lengths, features = batch
        features = features if self.config.feature_size else None
        y = self.forward(x, lengths, features)
        real = np.arange(x.shape[1])[None, :] < lengths[:, None]  # (B, S)
        self._loss_cache = real
        return float(self.loss.forward(y[real], x[real])), int(real.sum())

    def backward_loss(self) -> None:
        real = self._loss_cache
        dy = np.zeros(real.shape, dtype=self.dtype)
        dy[real] = self.loss.backward()
        self.backward(dy)

    def encode(self, x: np.ndarray, lengths: np.ndarray | None = None, features: np.ndarray | None = None):
        """x: (B, S) -> context: (B, C). Caches nothing."""
        was_training = self.training
        self.eval()
        context, _ = self._encode(x, lengths, features)
        self.clear_cache()
        self.train(was_training)
        return context

    def decode(self, context: np.ndarray, length: int, lengths: np.ndarray | None = None,
               features: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """context: (B, C), length S, lengths: (B,) int or None (all S), features: (B, S, F) or None
        -> (B, S), zero past each length. Caches nothing."""
        B = len(context)
        check_float(self, "context", context, self.dtype)
        if context.shape != (B, self.config.context_size):
            raise ValueError(f"{self!r}: context must have shape (B, {self.config.context_size}), got {context.shape}")
        if self.config.feature_size:
            _step_inputs(self, np.zeros((B, length), self.dtype), features, self.config.feature_size, "x")  # checks
        else:
            features = None
        lengths = self._lengths(B, length, lengths)
        was_training = self.training
        self.eval()
        y = self._decode(context, lengths, features, length)
        self.clear_cache()
        self.train(was_training)
        return y

    def reconstruct(self, x: np.ndarray, lengths: np.ndarray | None = None, features: np.ndarray | None = None):
        """x: (B, S) -> (B, S) through the context, in evaluation mode. Caches nothing."""
        return self.decode(self.encode(x, lengths, features), x.shape[1], lengths, features)

    def extra_repr(self) -> str:
        c = self.config
        return f"{c.cell}, hidden {c.hidden_size}, layers {c.n_layers}, context {c.context_size}"
