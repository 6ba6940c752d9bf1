"""Attention alignments of a trained translation model: which source tokens each output token attended to.

`align(translator, sentence)` decodes one sentence and returns its tokens and attention weights; the CLI verb
`enc2dec plot-attention --model DIR` draws them with `plots.plot_attention` (Bahdanau et al. 2015, figure 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Alignment:
    """src_tokens: the source as the model read it (unknown words marked "<unk>:word"); out_tokens: the output,
    with "</s>" last when decoding emitted it; weights: (len(out_tokens), len(src_tokens)), rows summing to 1."""

    src_tokens: list[str]
    out_tokens: list[str]
    weights: np.ndarray
    translation: str


def align(translator: Any, sentence: str, **options: Any) -> Alignment:
    """Decode `sentence` with the translator's settings (options override them, e.g. method="greedy") and return
    the best hypothesis with its attention weights. Raises ValueError for an empty sentence or a model that
    reports no attention."""
    tokens = translator.src_tokenizer.tokenize(sentence)
    if not tokens:
        raise ValueError("plot-attention: the source sentence has no tokens")
    ids = translator.src_vocab.encode(tokens)
    hyp = translator.decode_ids([ids], **options)[0][0]
    if hyp.attention is None:
        raise ValueError(
            f"plot-attention: {type(translator.model).__name__} puts no attention weights in its decoder state; "
            "train a model with attention (model.type: attention_seq2seq)"
        )
    unk = translator.src_vocab.UNK
    src = [f"<unk>:{t}" if i == unk else t for t, i in zip(tokens, ids)]
    out = translator.tgt_vocab.decode(hyp.tokens, strip_specials=False) + (["</s>"] if hyp.reached_eos else [])
    return Alignment(src, out, hyp.attention, translator.detokenize(hyp.tokens))
