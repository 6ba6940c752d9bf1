"""The attention seq2seq model: padding invariance, decoding against the training forward, attention returned by
decoding, batched = one sentence at a time, learning a reversal, config errors."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data import synthetic
from enc2dec.data.batching import BucketBatcher, make_batch
from enc2dec.decoding import beam_search, decode_all, greedy_search, pad, sample
from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig
from enc2dec.training import TrainConfig, Trainer

SOURCES = [[4, 5, 6, 7], [8], [9, 4, 4], [5, 6]]
TARGETS = [[4, 5], [6, 7, 8], [9], [4, 4, 4, 4]]
VARIANTS = {
    "luong_gru": dict(),
    "luong_lstm_2_layers": dict(cell="lstm", encoder_layers=2, decoder_layers=2, score="dot", encoder_size=6),
    "input_feeding": dict(cell="lstm", input_feeding=True, score="concat"),
    "bahdanau": dict(attention="bahdanau"),
}


def _model(seed: int = 0, **config) -> AttentionSeq2Seq:
    cfg = AttentionSeq2SeqConfig(embed_size=8, hidden_size=12, dropout=0.0, **config)
    return AttentionSeq2Seq(cfg, 10, 11, rng=np.random.default_rng(seed)).eval()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_padded_batch_loss_equals_each_pair_alone(variant):
    model = _model(**VARIANTS[variant])
    batch = make_batch(SOURCES, TARGETS, np.arange(4))
    loss, n = model.compute_loss(batch)
    alone = [model.compute_loss(make_batch([s], [t], np.arange(1))) for s, t in zip(SOURCES, TARGETS)]
    assert n == sum(k for _, k in alone)
    assert np.isclose(loss * n, sum(l * k for l, k in alone), rtol=1e-5)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_step_matches_teacher_forced_forward(variant):
    """Decoding's step-by-step log-probabilities equal the training forward's, position by position."""
    model = _model(**VARIANTS[variant])
    tgt = [2, 5, 6, 7, 3]
    batch = make_batch([SOURCES[0]], [tgt[1:-1]], np.arange(1))
    logits = model.forward(batch)  # (T, V) for one sentence
    model.clear_cache()
    state = model.encode(*pad([SOURCES[0]]))
    for t, prev in enumerate(tgt[:-1]):
        log_probs, state = model.step(np.array([prev]), state)
        expected = logits[t] - logits[t].max() - np.log(np.exp(logits[t] - logits[t].max()).sum())
        np.testing.assert_allclose(log_probs[0], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_decoding_returns_attention_rows_summing_to_one_over_the_source(variant):
    model = _model(**VARIANTS[variant])
    src, lengths = pad(SOURCES)
    for hyps in (greedy_search(model, src, lengths, max_len_b=5), [b[0] for b in beam_search(model, src, lengths)]):
        for h, s in zip(hyps, SOURCES):
            assert h.attention.shape == (h.n_emitted, len(s))
            np.testing.assert_allclose(h.attention.sum(axis=1), 1.0, rtol=1e-5)
    drawn = sample(model, src, lengths, rng=np.random.default_rng(0), max_len_b=5)
    assert all(h.attention.shape == (h.n_emitted, len(s)) for h, s in zip(drawn, SOURCES))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_batched_decoding_equals_one_sentence_at_a_time(variant):
    model = _model(**VARIANTS[variant])
    src, lengths = pad(SOURCES)
    batched = greedy_search(model, src, lengths, max_len_b=6)
    single = [greedy_search(model, *pad([s]), max_len_b=6)[0] for s in SOURCES]
    assert [h.tokens for h in batched] == [h.tokens for h in single]
    np.testing.assert_allclose([h.score for h in batched], [h.score for h in single], rtol=1e-5)
    for b, s in zip(batched, single):
        np.testing.assert_allclose(b.attention, s.attention, rtol=1e-5, atol=1e-6)
    beams = beam_search(model, src, lengths, beam_size=3, max_len_b=6)
    single_beams = [beam_search(model, *pad([s]), beam_size=3, max_len_b=6)[0] for s in SOURCES]
    assert [b[0].tokens for b in beams] == [b[0].tokens for b in single_beams]


def test_beam_of_one_is_greedy():
    model = _model()
    src, lengths = pad(SOURCES)
    greedy = greedy_search(model, src, lengths, max_len_b=6)
    beam = beam_search(model, src, lengths, beam_size=1, length_penalty=0.0, max_len_b=6)
    assert [h.tokens for h in greedy] == [b[0].tokens for b in beam]


@pytest.mark.parametrize("variant", ["luong_gru", "bahdanau"])
def test_learns_to_reverse_sequences(variant):
    # exact match 0.99-1.00 over seeds 0-2 for both variants (data, model and batch order seeded alike)
    data = synthetic.reverse(2000, 100, vocab_size=6, max_len=5, seed=0)
    config = AttentionSeq2SeqConfig(embed_size=8, hidden_size=32, dropout=0.0, label_smoothing=0.0, **VARIANTS[variant])
    model = AttentionSeq2Seq(config, len(data.src_vocab), len(data.tgt_vocab), rng=np.random.default_rng(0))
    history = Trainer(model, TrainConfig(optimizer="adam", lr=5e-3, max_steps=300)).fit(
        BucketBatcher(data.train, 200, seed=0)
    )
    assert np.mean(history.train_loss[-10:]) < history.train_loss[0] / 10
    hyps = decode_all(model.eval(), data.test.src, method="greedy")
    assert np.mean([h.tokens == t for h, t in zip(hyps, data.test.tgt)]) >= 0.9
    if variant == "luong_gru":  # a reversal's alignment is the anti-diagonal: output t attends to source S-1-t
        # over the first min(len(hyp), len(src)) output steps, so a short wrong hypothesis fails the assert, not numpy
        aligned = [
            h.attention[: len(s)].argmax(axis=1) == np.arange(len(s))[::-1][: len(h.attention)]
            for h, s in zip(hyps, data.test.src)
        ]
        assert np.mean(np.concatenate(aligned)) >= 0.8


def test_bad_config():
    with pytest.raises(ValueError, match=r"AttentionSeq2SeqConfig.attention must be one of \('luong', 'bahdanau'\)"):
        AttentionSeq2SeqConfig(attention="multihead")
    with pytest.raises(ValueError, match=r"AttentionSeq2SeqConfig.score must be one of"):
        AttentionSeq2SeqConfig(score="bilinear")
    with pytest.raises(ValueError, match=r"need decoder_layers=1, got 2"):
        AttentionSeq2SeqConfig(input_feeding=True, decoder_layers=2)
    with pytest.raises(ValueError, match=r"input_feeding is Luong's"):
        AttentionSeq2SeqConfig(attention="bahdanau", input_feeding=True)
    with pytest.raises(ValueError, match=r"score 'dot' needs the memory width 12 .* to equal hidden_size 8"):
        AttentionSeq2SeqConfig(hidden_size=8, encoder_size=6, score="dot")
