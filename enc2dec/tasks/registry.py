"""The one model registry: each model type's name, its task, its config dataclass and its class.

A run config names its model as `model: {type: NAME, ...fields of NAME's config}`; the fields are checked by that
type's own dataclass, so another type's fields are rejected (`model.beta is not a SparseConfig field`). The task
builds the model: translation models take the vocabulary sizes, the others their config alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from enc2dec.config import Choice


@dataclass(frozen=True)
class ModelType:
    task: str  # the task whose data the model reads
    config: type  # its config dataclass
    model: type  # its Module class


@cache
def model_types() -> dict[str, ModelType]:
    from enc2dec.models import autoencoders as ae
    from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig
    from enc2dec.models.forecast import Forecaster, ForecasterConfig, SequenceAutoencoder, SequenceAutoencoderConfig
    from enc2dec.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from enc2dec.models.transformer import Transformer, TransformerConfig
    from enc2dec.models.vae import VAE, VAEConfig

    return {
        "autoencoder": ModelType("autoencoder", ae.AutoencoderConfig, ae.Autoencoder),
        "denoising_autoencoder": ModelType("autoencoder", ae.DenoisingConfig, ae.DenoisingAutoencoder),
        "sparse_autoencoder": ModelType("autoencoder", ae.SparseConfig, ae.SparseAutoencoder),
        "contractive_autoencoder": ModelType("autoencoder", ae.ContractiveConfig, ae.ContractiveAutoencoder),
        "vae": ModelType("autoencoder", VAEConfig, VAE),
        "seq2seq": ModelType("translation", Seq2SeqConfig, Seq2Seq),
        "attention_seq2seq": ModelType("translation", AttentionSeq2SeqConfig, AttentionSeq2Seq),
        "transformer": ModelType("translation", TransformerConfig, Transformer),
        "forecaster": ModelType("forecast", ForecasterConfig, Forecaster),
        "sequence_autoencoder": ModelType("series_autoencoder", SequenceAutoencoderConfig, SequenceAutoencoder),
    }


def model_choice(task: str) -> Choice:
    """The `model` field of `task`'s run config: one of the model types of that task."""
    return Choice(lambda: {n: t.config for n, t in model_types().items() if t.task == task}, f"models of task {task}")


def model_type_of(config: object) -> ModelType:
    """The registered type of a model config instance."""
    for t in model_types().values():
        if type(config) is t.config:
            return t
    raise TypeError(f"{type(config).__name__} is not a registered model config")
