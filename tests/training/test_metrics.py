from __future__ import annotations

import math

import pytest

from enc2dec.training.metrics import perplexity, translation_scores


def test_bleu_chrf_and_signature():
    refs = ["A man is riding a bike.", "Two dogs play in the snow."]
    perfect = translation_scores(refs, refs)
    assert perfect.bleu == pytest.approx(100.0) and perfect.chrf == pytest.approx(100.0)
    assert "tok:13a" in perfect.bleu_signature and "case:mixed" in perfect.bleu_signature
    cased = translation_scores(["a man is riding a bike.", "two dogs play in the snow."], refs)
    assert cased.bleu < cased.bleu_lc == pytest.approx(100.0)
    # intl splits off Unicode punctuation (13a: ASCII only)
    glued = translation_scores(["«bonjour» dit le chat noir"], ["« Bonjour » dit le chat noir"])
    assert glued.bleu_lc < glued.bleu_lc_intl == pytest.approx(100.0)


def test_mismatched_lengths_and_perplexity():
    with pytest.raises(ValueError, match="1 hypotheses for 2 references"):
        translation_scores(["x"], ["a", "b"])
    assert perplexity(0.0) == 1.0 and perplexity(math.log(20)) == pytest.approx(20) and perplexity(1e4) == math.inf
