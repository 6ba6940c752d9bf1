"""Translation metrics: sacrebleu corpus BLEU (cased, 13a) with its signature, lowercased BLEU (13a, and intl for
comparison with papers that score so), chrF; perplexity."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TranslationScores:
    bleu: float  # sacrebleu corpus BLEU, cased, 13a tokenization
    bleu_lc: float  # the same, lowercased
    bleu_lc_intl: float  # lowercased, intl tokenization (sacrebleu --tokenize intl -lc)
    chrf: float
    bleu_signature: str
    chrf_signature: str

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}bleu": self.bleu, f"{prefix}bleu_lc": self.bleu_lc,
                f"{prefix}bleu_lc_intl": self.bleu_lc_intl, f"{prefix}chrf": self.chrf}  # fmt: skip


def translation_scores(hypotheses: list[str], references: list[str]) -> TranslationScores:
    """Score detokenized hypotheses against the raw reference strings (one reference each)."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"translation_scores: {len(hypotheses)} hypotheses for {len(references)} references")
    bleu = sacrebleu.metrics.BLEU(tokenize="13a")
    bleu_lc = sacrebleu.metrics.BLEU(tokenize="13a", lowercase=True)
    bleu_lc_intl = sacrebleu.metrics.BLEU(tokenize="intl", lowercase=True)
    chrf = sacrebleu.metrics.CHRF()
    refs = [references]
    return TranslationScores(
        bleu=bleu.corpus_score(hypotheses, refs).score,
        bleu_lc=bleu_lc.corpus_score(hypotheses, refs).score,
        bleu_lc_intl=bleu_lc_intl.corpus_score(hypotheses, refs).score,
        chrf=chrf.corpus_score(hypotheses, refs).score,
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


def perplexity(mean_token_loss: float) -> float:
    """exp of the mean per-token cross-entropy (nats); inf past overflow."""
    return math.exp(mean_token_loss) if mean_token_loss < 700 else math.inf
