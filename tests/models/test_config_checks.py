"""Every size, rate, probability and count of the model configs is checked when the config is made, naming the
class, the field, the range and the value (so a bad config fails at load time, not after data loading)."""

from __future__ import annotations

import pytest

from enc2dec.baselines import StatisticalConfig
from enc2dec.models.attention_seq2seq import AttentionSeq2SeqConfig
from enc2dec.models.autoencoders import AutoencoderConfig, ContractiveConfig, DenoisingConfig, SparseConfig
from enc2dec.models.dense import DenseConfig
from enc2dec.models.forecast import ForecasterConfig, SequenceAutoencoderConfig
from enc2dec.models.seq2seq import Seq2SeqConfig
from enc2dec.models.transformer import TransformerConfig
from enc2dec.models.vae import VAEConfig

NAN = float("nan")

CASES = [  # (config class, keyword arguments, error type, message pattern)
    (DenseConfig, dict(input_size=0), ValueError, r"DenseConfig.input_size must be >= 1, got 0"),
    (DenseConfig, dict(input_size=4, context_size=-2), ValueError, r"DenseConfig.context_size must be >= 1, got -2"),
    (DenseConfig, dict(input_size=4, hidden_sizes=(8, 0)), ValueError, r"DenseConfig.hidden_sizes\[1\] must be >= 1"),
    (DenseConfig, dict(input_size=2.0), TypeError, r"DenseConfig.input_size must be an int >= 1, got float 2.0"),
    (DenseConfig, dict(input_size=True), TypeError, r"DenseConfig.input_size must be an int >= 1, got bool True"),
    (DenseConfig, dict(input_size=4, activation="swish"), ValueError, r"DenseConfig.activation must be one of \["),
    (DenseConfig, dict(input_size=4, context_activation="x"), ValueError, r"DenseConfig.context_activation must be"),
    (AutoencoderConfig, dict(input_size=0), ValueError, r"AutoencoderConfig.input_size must be >= 1, got 0"),
    (DenoisingConfig, dict(input_size=4, noise_level=-0.1), ValueError, r"noise_level must be >= 0, got -0.1"),
    (DenoisingConfig, dict(input_size=4, noise_level=NAN), ValueError, r"noise_level must be >= 0, got nan"),
    (SparseConfig, dict(input_size=4, sparsity_target=1.0), ValueError, r"sparsity_target must be in \(0, 1\)"),
    (SparseConfig, dict(input_size=4, penalty_weight=NAN), ValueError, r"penalty_weight must be >= 0, got nan"),
    (ContractiveConfig, dict(input_size=4, penalty_weight=-1.0), ValueError, r"ContractiveConfig.penalty_weight"),
    (VAEConfig, dict(input_size=4, beta=float("inf")), ValueError, r"VAEConfig.beta must be >= 0"),
    (Seq2SeqConfig, dict(embed_size=0), ValueError, r"Seq2SeqConfig.embed_size must be >= 1, got 0"),
    (Seq2SeqConfig, dict(hidden_size=-1), ValueError, r"Seq2SeqConfig.hidden_size must be >= 1, got -1"),
    (Seq2SeqConfig, dict(n_layers=0), ValueError, r"Seq2SeqConfig.n_layers must be >= 1, got 0"),
    (Seq2SeqConfig, dict(dropout=1.5), ValueError, r"Seq2SeqConfig.dropout must be in \[0, 1\), got 1.5"),
    (Seq2SeqConfig, dict(dropout=1.0), ValueError, r"Seq2SeqConfig.dropout must be in \[0, 1\), got 1.0"),
    (Seq2SeqConfig, dict(label_smoothing=2), ValueError, r"Seq2SeqConfig.label_smoothing must be in \[0, 1\), got 2"),
    (Seq2SeqConfig, dict(scheduled_sampling=NAN), ValueError, r"scheduled_sampling must be in \[0, 1\], got nan"),
    (Seq2SeqConfig, dict(init_scale=0.0), ValueError, r"Seq2SeqConfig.init_scale must be null or > 0, got 0.0"),
    (Seq2SeqConfig, dict(reverse_source=1), TypeError, r"Seq2SeqConfig.reverse_source must be true or false, got int"),
    (AttentionSeq2SeqConfig, dict(embed_size=0), ValueError, r"AttentionSeq2SeqConfig.embed_size must be >= 1"),
    (AttentionSeq2SeqConfig, dict(encoder_layers=0), ValueError, r"encoder_layers must be >= 1, got 0"),
    (AttentionSeq2SeqConfig, dict(decoder_layers=-1), ValueError, r"decoder_layers must be >= 1, got -1"),
    (AttentionSeq2SeqConfig, dict(encoder_size=0), ValueError, r"encoder_size must be null or >= 1 .*, got 0"),
    (AttentionSeq2SeqConfig, dict(attention_size=0), ValueError, r"attention_size must be null or >= 1 .*, got 0"),
    (AttentionSeq2SeqConfig, dict(dropout=-0.1), ValueError, r"AttentionSeq2SeqConfig.dropout must be in \[0, 1\)"),
    (AttentionSeq2SeqConfig, dict(label_smoothing=1), ValueError, r"label_smoothing must be in \[0, 1\), got 1"),
    (AttentionSeq2SeqConfig, dict(init_scale=-1.0), ValueError, r"init_scale must be null or > 0, got -1.0"),
    (AttentionSeq2SeqConfig, dict(bidirectional="yes"), TypeError, r"bidirectional must be true or false, got str"),
    (AttentionSeq2SeqConfig, dict(hidden_size=1), ValueError, r"needs hidden_size >= 2, got 1 \(or set encoder_size\)"),
    (AttentionSeq2SeqConfig, dict(hidden_size=9, score="dot"), ValueError, r"memory width 8 .* to equal hidden_size 9"),
    (TransformerConfig, dict(model_size=0), ValueError, r"TransformerConfig.model_size must be >= 1, got 0"),
    (TransformerConfig, dict(n_heads=0), ValueError, r"TransformerConfig.n_heads must be >= 1, got 0"),
    (TransformerConfig, dict(model_size=10, n_heads=4), ValueError, r"model_size 10 must be divisible by n_heads 4"),
    (TransformerConfig, dict(ff_size=-4), ValueError, r"TransformerConfig.ff_size must be >= 1, got -4"),
    (TransformerConfig, dict(n_encoder_layers=0), ValueError, r"TransformerConfig.n_encoder_layers must be >= 1"),
    (TransformerConfig, dict(n_decoder_layers=0), ValueError, r"TransformerConfig.n_decoder_layers must be >= 1"),
    (TransformerConfig, dict(max_positions=0), ValueError, r"TransformerConfig.max_positions must be >= 1, got 0"),
    (TransformerConfig, dict(dropout=1.5), ValueError, r"TransformerConfig.dropout must be in \[0, 1\), got 1.5"),
    (TransformerConfig, dict(attention_dropout=NAN), ValueError, r"attention_dropout must be in \[0, 1\), got nan"),
    (TransformerConfig, dict(label_smoothing=2.0), ValueError, r"label_smoothing must be in \[0, 1\), got 2.0"),
    (TransformerConfig, dict(tie_output=0), TypeError, r"TransformerConfig.tie_output must be true or false"),
    (
        Seq2SeqConfig,
        dict(tie_output=True),
        ValueError,
        r"Seq2SeqConfig: tie_output needs embed_size == hidden_size \(the",
    ),
    (AttentionSeq2SeqConfig, dict(embed_size=8, tie_output=True), ValueError, r"tie_output needs embed_size == hidden"),
    (ForecasterConfig, dict(embed_size=0), ValueError, r"ForecasterConfig.embed_size must be >= 1, got 0"),
    (ForecasterConfig, dict(n_layers=0), ValueError, r"ForecasterConfig.n_layers must be >= 1, got 0"),
    (ForecasterConfig, dict(feature_size=-1), ValueError, r"feature_size must be >= 0 \(0: no exogenous features\)"),
    (ForecasterConfig, dict(dropout=1.0), ValueError, r"ForecasterConfig.dropout must be in \[0, 1\), got 1.0"),
    (ForecasterConfig, dict(scheduled_sampling=-0.5), ValueError, r"scheduled_sampling must be in \[0, 1\], got -0.5"),
    (SequenceAutoencoderConfig, dict(hidden_size=0), ValueError, r"SequenceAutoencoderConfig.hidden_size must be >= 1"),
    (
        SequenceAutoencoderConfig,
        dict(dropout=2.0),
        ValueError,
        r"SequenceAutoencoderConfig.dropout must be in \[0, 1\)",
    ),
    (SequenceAutoencoderConfig, dict(feature_size=-3), ValueError, r"SequenceAutoencoderConfig.feature_size must be"),
    (SequenceAutoencoderConfig, dict(reverse_target=None), TypeError, r"reverse_target must be true or false"),
    (StatisticalConfig, dict(order=(1, -1, 1)), ValueError, r"StatisticalConfig.order\[1\] must be >= 0, got -1"),
    (StatisticalConfig, dict(seasonal_order=(0, 1)), ValueError, r"StatisticalConfig.seasonal_order must be three"),
    (StatisticalConfig, dict(seasonal_order=(0, 1.5, 1)), TypeError, r"seasonal_order\[1\] must be an int >= 0"),
    (StatisticalConfig, dict(damped_trend=1), TypeError, r"StatisticalConfig.damped_trend must be true or false"),
]


@pytest.mark.parametrize("cls, kwargs, error, pattern", CASES, ids=[f"{c[0].__name__}-{c[1]}" for c in CASES])
def test_config_field_out_of_range_names_class_field_range_and_value(cls, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        cls(**kwargs)


@pytest.mark.parametrize("cls", sorted({c[0] for c in CASES}, key=lambda c: c.__name__))
def test_defaults_and_edges_of_the_ranges_are_accepted(cls):
    extra = {"input_size": 1} if issubclass(cls, DenseConfig) else {}
    cls(**extra)  # the defaults
    edges = {
        Seq2SeqConfig: dict(dropout=0.0, label_smoothing=0.0, scheduled_sampling=1.0, init_scale=None, n_layers=1),
        TransformerConfig: dict(model_size=6, n_heads=3, dropout=0.999, max_positions=1),
        ForecasterConfig: dict(feature_size=0, scheduled_sampling=1.0),
        AttentionSeq2SeqConfig: dict(hidden_size=2, encoder_size=None, attention_size=1),
        StatisticalConfig: dict(order=(0, 0, 0)),
    }
    cls(**extra, **edges.get(cls, {}))
