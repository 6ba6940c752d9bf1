from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data import synthetic
from enc2dec.data.batching import BucketBatcher, make_batch
from enc2dec.decoding import SourcesTooLongError, beam_search, decode_all, greedy_search, pad
from enc2dec.models.transformer import Transformer, TransformerConfig, Uncached
from enc2dec.training import TrainConfig, Trainer

SOURCES = [[4, 5, 6, 7], [8], [9, 4, 4], [5, 6]]
TARGETS = [[4, 5], [6, 7, 8], [9], [4, 4, 4, 4]]


def _model(seed: int = 0, **config) -> Transformer:
    base = dict(model_size=16, n_heads=4, ff_size=24, n_encoder_layers=2, n_decoder_layers=2, dropout=0.0)
    return Transformer(TransformerConfig(**{**base, **config}), 10, 11, rng=np.random.default_rng(seed)).eval()


def test_padded_batch_loss_equals_each_pair_alone():
    model = _model()
    loss, n = model.compute_loss(make_batch(SOURCES, TARGETS, np.arange(4)))
    alone = [model.compute_loss(make_batch([s], [t], np.arange(1))) for s, t in zip(SOURCES, TARGETS)]
    assert n == sum(k for _, k in alone)
    assert np.isclose(loss * n, sum(l * k for l, k in alone), rtol=1e-5)


@pytest.mark.parametrize("pre_norm", [True, False])
def test_step_matches_teacher_forced_forward(pre_norm):
    """The cached step-by-step log-probabilities equal the training forward's, position by position; a step
    leaves no layer cache behind."""
    model = _model(pre_norm=pre_norm, tie_output=pre_norm, positions="sinusoidal" if pre_norm else "learned",
                   activation="relu" if pre_norm else "gelu")  # fmt: skip
    tgt = [2, 5, 6, 7, 3]
    logits = model.forward(make_batch([SOURCES[0]], [tgt[1:-1]], np.arange(1)))  # (T-1, V)
    model.clear_cache()
    expected = logits - logits.max(1, keepdims=True)
    expected -= np.log(np.exp(expected).sum(1, keepdims=True))
    state = model.encode(*pad([SOURCES[0]]))
    for t, prev in enumerate(tgt[:-1]):
        log_probs, state = model.step(np.array([prev]), state)
        assert state["k_self.0"].shape == (1, 4, t + 1, 4)  # (B, nh, t + 1, dh): one position more per step
        assert not [n for m in model.modules() for n, v in vars(m).items() if n.endswith("_cache") and v is not None]
        np.testing.assert_allclose(log_probs[0], expected[t], rtol=1e-4, atol=1e-5)


def test_cached_and_uncached_decoding_give_identical_outputs():
    model = _model()
    src, lengths = pad(SOURCES)
    cached, uncached = greedy_search(model, src, lengths), greedy_search(Uncached(model), src, lengths)
    assert [h.tokens for h in cached] == [h.tokens for h in uncached]
    np.testing.assert_allclose([h.score for h in cached], [h.score for h in uncached], rtol=1e-5)
    cached = beam_search(model, src, lengths, beam_size=3, n_best=2)
    uncached = beam_search(Uncached(model), src, lengths, beam_size=3, n_best=2)
    assert [[h.tokens for h in b] for b in cached] == [[h.tokens for h in b] for b in uncached]
    np.testing.assert_allclose([h.score for b in cached for h in b], [h.score for b in uncached for h in b], rtol=1e-5)


def test_batched_decoding_equals_one_sentence_at_a_time():
    model = _model(seed=1)
    src, lengths = pad(SOURCES)
    batched = beam_search(model, src, lengths, beam_size=3, max_len_b=6)
    single = [beam_search(model, *pad([s]), beam_size=3, max_len_b=6)[0] for s in SOURCES]
    assert [b[0].tokens for b in batched] == [b[0].tokens for b in single]
    np.testing.assert_allclose([b[0].score for b in batched], [b[0].score for b in single], rtol=1e-4)


def test_beam_of_one_is_greedy():
    model = _model(seed=2)
    src, lengths = pad(SOURCES)
    greedy = greedy_search(model, src, lengths, max_len_b=6)
    beam = beam_search(model, src, lengths, beam_size=1, length_penalty=0.0, max_len_b=6)
    assert [h.tokens for h in greedy] == [b[0].tokens for b in beam]


def test_tied_weights_are_one_parameter():
    config = TransformerConfig(model_size=8, n_heads=2, ff_size=8, n_encoder_layers=1, n_decoder_layers=1,
                               share_embeddings=True)  # fmt: skip
    shared = Transformer(config, 9, 9, rng=np.random.default_rng(0))
    assert shared.src_embed.tokens.weight is shared.tgt_embed.tokens.weight
    names = [n for n, _ in shared.named_parameters()]
    assert "src_embed.tokens.weight" in names and "tgt_embed.tokens.weight" not in names
    assert "output.bias" in names and "output.weight" not in names  # the output is the target embedding's


def test_learns_to_reverse_sequences():
    # lengths 2..4: the 8 one-symbol sequences cannot all be held out of training, so none are drawn.
    # Exact match 0.97-0.99 over seeds 0-2 on two CPU kinds (250 steps gave 0.89-0.97: too close to the bar).
    data = synthetic.reverse(2000, 100, vocab_size=8, max_len=4, min_len=2, seed=0)
    config = TransformerConfig(
        model_size=32, n_heads=4, ff_size=64, n_encoder_layers=2, n_decoder_layers=2, dropout=0.0, label_smoothing=0.0
    )
    model = Transformer(config, len(data.src_vocab), len(data.tgt_vocab), rng=np.random.default_rng(0))
    train = TrainConfig(lr=5e-3, schedule="warmup_inv_sqrt", warmup_steps=50, max_steps=400, clip_norm=1.0)
    history = Trainer(model, train).fit(BucketBatcher(data.train, 300, seed=0))
    assert np.mean(history.train_loss[-10:]) < history.train_loss[0] / 10
    hyps = decode_all(model.eval(), data.test.src, method="greedy")
    assert np.mean([h.tokens == t for h, t in zip(hyps, data.test.tgt)]) >= 0.9


def test_bad_config():
    with pytest.raises(ValueError, match="model_size 10 must be divisible by n_heads 4"):
        TransformerConfig(model_size=10, n_heads=4)
    with pytest.raises(ValueError, match="TransformerConfig.activation must be 'relu' or 'gelu', got 'tanh'"):
        TransformerConfig(activation="tanh")
    with pytest.raises(ValueError, match="share_embeddings needs one joint vocabulary, got sizes 10 and 11"):
        _model(share_embeddings=True)


def test_learned_positions_cap_decoding_and_report_over_long_sources():
    model = _model(positions="learned", max_positions=6)
    assert (model.max_source_length, model.max_target_length) == (6, 6)
    assert (_model().max_source_length, _model().max_target_length) == (None, None)  # sinusoidal: unlimited
    src = [[4, 5, 6], [4] * 7, [5, 6]]  # the second is longer than the 6 positions
    with pytest.raises(SourcesTooLongError, match=r"src\[1\]: source has 7 tokens, the model reads at most 6") as e:
        decode_all(model, src, method="beam", beam_size=2, max_len_b=50)
    results = e.value.results
    assert results[1] == [] and all(1 <= h.n_emitted <= 6 for i in (0, 2) for h in results[i])
    alone = decode_all(model, [src[0], src[2]], method="greedy", max_len_a=9.0)  # asks for 37 steps: capped at 6
    assert all(h.n_emitted <= 6 for h in alone)
    assert decode_all(Uncached(model), [src[0]], method="greedy", max_len_a=9.0)[0].tokens == alone[0].tokens
