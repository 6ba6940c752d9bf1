"""Gradient-check cases for the models (collected by tests/gradcases.py)."""

from __future__ import annotations

import numpy as np

from enc2dec.layers import Linear, Sequential, Sigmoid
from enc2dec.models.dense import DenseConfig, EncoderDecoder
from enc2dec.nn.gradcheck import Objective
from tests.helpers import randn


def worked_example(rng: np.random.Generator) -> EncoderDecoder:
    """Input 3 -> sigmoid context 2 -> sigmoid output 3."""
    encoder = Sequential(Linear(3, 2, rng=rng), Sigmoid())
    decoder = Sequential(Linear(2, 3, rng=rng), Sigmoid())
    return EncoderDecoder(encoder, decoder)


CASES = {
    "encoder_decoder_worked_example": lambda rng: (worked_example(rng), [randn(rng, 4, 3)]),
    "encoder_decoder_deep": lambda rng: (
        EncoderDecoder.from_config(DenseConfig(input_size=5, context_size=2, hidden_sizes=(4, 3)), rng=rng),
        [randn(rng, 2, 5)],
    ),
    # The whole training objective (forward, loss, backward_loss), checked end to end.
    "encoder_decoder_bce_objective": lambda rng: (
        Objective(
            EncoderDecoder.from_config(
                DenseConfig(input_size=4, context_size=3, hidden_sizes=(5,), loss="bce"), rng=rng
            )
        ),
        [randn(rng, 3, 4), rng.uniform(0, 1, (3, 4)).astype(np.float32)],
    ),
}


# -- the autoencoder family: every objective end to end, penalties included ---------------------------------------
def _ae(rng, kind="plain", **kw):
    from tests.helpers import build_autoencoder

    base = dict(input_size=5, context_size=3, hidden_sizes=(4,), activation="tanh")
    return build_autoencoder(kind, rng, **{**base, **kw})


def _unit(rng, *shape):
    return rng.uniform(0.05, 0.95, shape).astype(np.float32)


CASES.update(
    {
        "autoencoder_mse": lambda rng: (_ae(rng), [randn(rng, 2, 5)]),
        "autoencoder_bce_objective": lambda rng: (
            Objective(_ae(rng, loss="bce", activation="sigmoid")),
            [_unit(rng, 3, 5), _unit(rng, 3, 5)],
        ),
        "denoising_gaussian_objective": lambda rng: (
            Objective(_ae(rng, kind="denoising", noise="gaussian", loss="bce")),
            [_unit(rng, 3, 5), _unit(rng, 3, 5)],
        ),
        "denoising_masking_objective": lambda rng: (
            Objective(_ae(rng, kind="denoising", noise="masking", noise_level=0.4)),
            [randn(rng, 2, 5), randn(rng, 2, 5)],
        ),
        "denoising_b1": lambda rng: (_ae(rng, kind="denoising"), [randn(rng, 1, 5)]),
        # a sigmoid code stays off L1's kink at zero
        "sparse_l1_objective": lambda rng: (
            Objective(_ae(rng, kind="sparse", sparsity="l1", context_activation="sigmoid", penalty_weight=0.3)),
            [randn(rng, 3, 5), randn(rng, 3, 5)],
        ),
        "sparse_kl_objective": lambda rng: (
            Objective(
                _ae(
                    rng,
                    kind="sparse",
                    sparsity="kl",
                    context_activation="sigmoid",
                    penalty_weight=0.5,
                    sparsity_target=0.1,
                )
            ),
            [randn(rng, 3, 5), randn(rng, 3, 5)],
        ),
        "contractive_sigmoid_objective": lambda rng: (
            Objective(_ae(rng, kind="contractive", hidden_sizes=(), context_activation="sigmoid", penalty_weight=0.7)),
            [randn(rng, 3, 5), randn(rng, 3, 5)],
        ),
        "contractive_deep_tanh_objective": lambda rng: (
            Objective(_ae(rng, kind="contractive", penalty_weight=0.7, loss="bce")),
            [randn(rng, 2, 5), _unit(rng, 2, 5)],
        ),
        "contractive": lambda rng: (
            _ae(rng, kind="contractive", hidden_sizes=(), context_activation="tanh"),
            [randn(rng, 2, 5)],
        ),
        "sparse": lambda rng: (_ae(rng, kind="sparse", context_activation="sigmoid"), [randn(rng, 2, 5)]),
        # the VAE with its noise held fixed (gradcheck reseeds self.rng before every forward)
        "vae_train": lambda rng: (_ae(rng, kind="vae").train(), [randn(rng, 2, 5)]),
        "vae_eval_b1": lambda rng: (_ae(rng, kind="vae").eval(), [randn(rng, 1, 5)]),
        "vae_bernoulli_objective": lambda rng: (
            Objective(_ae(rng, kind="vae", beta=0.5)),
            [_unit(rng, 3, 5), _unit(rng, 3, 5)],
        ),
        "vae_gaussian_objective": lambda rng: (
            Objective(_ae(rng, kind="vae", decoder="gaussian", hidden_sizes=(4, 3), activation="relu")),
            [randn(rng, 2, 5), randn(rng, 2, 5)],
        ),
    }
)


def _seq2seq_case(rng: np.random.Generator, **config) -> tuple:
    from enc2dec.data.batching import make_batch
    from enc2dec.models.seq2seq import Seq2Seq, Seq2SeqConfig

    base = dict(embed_size=5, hidden_size=4, init_scale=None)
    vocab = 7 if config.get("share_embeddings") else 6
    model = Seq2Seq(Seq2SeqConfig(**{**base, **config}), 7, vocab, rng=rng)
    batch = make_batch([[4, 5, 6], [5]], [[4, 5], [5, 4, 1]], np.arange(2))  # unequal lengths: padding inside
    return model, batch


CASES.update(
    {
        # forward(batch) -> logits at the real target positions; backward(d_logits) reaches every parameter
        # one layer: seq2seq_objective checks two
        "seq2seq_lstm": lambda rng: (lambda m, b: (m, [b]))(*_seq2seq_case(rng, n_layers=1)),
        "seq2seq_gru_not_reversed": lambda rng: (lambda m, b: (m, [b]))(
            *_seq2seq_case(rng, cell="gru", n_layers=1, reverse_source=False)
        ),
        # the whole objective with dropout between layers and label smoothing
        "seq2seq_objective": lambda rng: (lambda m, b: (Objective(m), [b]))(
            *_seq2seq_case(rng, n_layers=2, dropout=0.3, label_smoothing=0.1)
        ),
        # three-way tying: one table for source, target and output, its gradient summed from all three uses
        "seq2seq_tied_objective": lambda rng: (lambda m, b: (Objective(m), [b]))(
            *_seq2seq_case(rng, n_layers=1, embed_size=4, share_embeddings=True, tie_output=True)
        ),
    }
)


def _transformer_case(rng: np.random.Generator, **config) -> tuple:
    from enc2dec.data.batching import make_batch
    from enc2dec.models.transformer import Transformer, TransformerConfig

    base = dict(model_size=6, n_heads=2, ff_size=5, n_encoder_layers=1, n_decoder_layers=1, dropout=0.0)
    vocab = 7 if config.get("share_embeddings") else 6
    model = Transformer(TransformerConfig(**{**base, **config}), 7, vocab, rng=rng)
    for m in model.modules():  # LayerNorms at 1 and 0 would hide errors
        if type(m).__name__ == "LayerNorm":
            for p in m.parameters():
                p.value = randn(rng, *p.shape)
                p.grad = np.zeros_like(p.value)
    batch = make_batch([[4, 5, 6], [5]], [[4, 5], [5, 4, 1]], np.arange(2))  # unequal lengths: padding inside
    return model, batch


CASES.update(
    {
        # logits at the real target positions, tied output projection, sinusoidal positions, pre-LN
        "transformer_tied": lambda rng: (lambda m, b: (m, [b]))(*_transformer_case(rng)),
        # untied output, learned positions, post-LN, GELU
        "transformer_untied_post_ln": lambda rng: (lambda m, b: (m, [b]))(
            *_transformer_case(
                rng, tie_output=False, positions="learned", max_positions=6, pre_norm=False, activation="gelu"
            )
        ),
        # the whole objective: dropout everywhere, label smoothing, one table for source, target and output
        "transformer_objective_shared": lambda rng: (lambda m, b: (Objective(m), [b]))(
            *_transformer_case(rng, dropout=0.2, attention_dropout=0.1, label_smoothing=0.1, share_embeddings=True)
        ),
    }
)


# -- real-valued sequences: the forecaster and the sequence autoencoder, end to end --------------------------------
def _forecaster_case(rng: np.random.Generator, objective: bool = False, **config) -> tuple:
    """B=2, S=4 input steps, T=3 horizon steps; F features when feature_size is set. Attention parameters are drawn
    from N(0, 1): at their initial scale the concat score's gradients near the finite differences' roundoff."""
    from enc2dec.models.forecast import Forecaster, ForecasterConfig

    model = Forecaster(ForecasterConfig(**{"embed_size": 3, "hidden_size": 4, **config}), rng=rng)
    if model.attention is not None:
        for p in model.attention.parameters():
            p.value = randn(rng, *p.shape)
            p.grad = np.zeros_like(p.value)
    F = model.config.feature_size
    if objective:  # the trainer's batch: (src, tgt, src_features, tgt_features)
        return Objective(model), [randn(rng, 2, 4), randn(rng, 2, 3), randn(rng, 2, 4, F), randn(rng, 2, 3, F)]
    features = [randn(rng, 2, 4, F), randn(rng, 2, 3, F)] if F else []
    return model, [randn(rng, 2, 4), randn(rng, 2, 3), *features]


def _seq_ae_case(rng: np.random.Generator, objective: bool = False, **config) -> tuple:
    """B=2, S=4, the second series padded to length 2: padding inside every check."""
    from enc2dec.models.forecast import SequenceAutoencoder, SequenceAutoencoderConfig

    model = SequenceAutoencoder(SequenceAutoencoderConfig(**{"embed_size": 3, "hidden_size": 4, **config}), rng=rng)
    F, lengths = model.config.feature_size, np.array([4, 2])
    if objective:
        return Objective(model), [randn(rng, 2, 4), lengths, randn(rng, 2, 4, F)]
    return model, [randn(rng, 2, 4), lengths, *([randn(rng, 2, 4, F)] if F else [])]


CASES.update(
    {
        "forecaster_lstm": lambda rng: _forecaster_case(rng),
        "forecaster_exogenous_attention_general": lambda rng: _forecaster_case(
            rng, feature_size=2, attention="general"
        ),
        "forecaster_gaussian_gru_2layers_concat": lambda rng: _forecaster_case(
            rng, head="gaussian", cell="gru", n_layers=2, attention="concat"
        ),
        "forecaster_objective_gaussian_exogenous_dropout": lambda rng: _forecaster_case(
            rng, objective=True, head="gaussian", feature_size=2, attention="dot", n_layers=2, dropout=0.3
        ),
        "forecaster_objective_mse_t1_b1": lambda rng: (
            lambda m, _: (m, [randn(rng, 1, 4), randn(rng, 1, 1), randn(rng, 1, 4, 0), randn(rng, 1, 1, 0)])
        )(*_forecaster_case(rng, objective=True, cell="rnn")),
        "seq_ae_lstm_padded": lambda rng: _seq_ae_case(rng),
        "seq_ae_gru_2layers_exogenous_padded": lambda rng: _seq_ae_case(rng, cell="gru", n_layers=2, feature_size=2),
        "seq_ae_objective_not_reversed_padded": lambda rng: _seq_ae_case(
            rng, objective=True, reverse_target=False, feature_size=1, context_size=3, dropout=0.3, n_layers=2
        ),
    }
)
