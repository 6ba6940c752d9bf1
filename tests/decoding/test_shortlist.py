"""The lexical shortlist: its table against a hand count, its log-probabilities against the full model's
renormalized over the shortlist (float64), outputs in its columns only, and a shortlist of every token = no
shortlist."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import decode_all, pad
from enc2dec.decoding.ensemble import Ensemble
from enc2dec.decoding.shortlist import Shortlist, Shortlisted, build_shortlist
from enc2dec.models.attention_seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig
from enc2dec.models.transformer import Transformer, TransformerConfig
from enc2dec.nn import functional

V_SRC, V_TGT = 10, 12
SOURCES = [[4, 5, 6, 7], [8], [9, 4, 4], [5, 6], [7, 7, 9, 8, 4]]


def _models(dtype=np.float32) -> dict[str, object]:
    rng = np.random.default_rng(0)
    transformer = TransformerConfig(model_size=16, n_heads=4, ff_size=24, n_encoder_layers=1, n_decoder_layers=2,
                                    dropout=0.0, tie_output=True)  # fmt: skip
    attention = AttentionSeq2SeqConfig(embed_size=8, hidden_size=12)
    models = {"transformer": Transformer(transformer, V_SRC, V_TGT, rng=rng),
              "attention": AttentionSeq2Seq(attention, V_SRC, V_TGT, rng=rng)}  # fmt: skip
    for m in models.values():
        m.eval()
        for p in m.parameters():
            p.value = p.value.astype(dtype)
    return models


def test_the_table_holds_the_most_frequent_targets_and_each_sources_best_partners():
    src = [[4, 5], [4, 6], [4]]
    tgt = [[7, 8], [7, 9], [10, 10, 11]]
    # target counts: 7: 2, 10: 2 (in one pair, counted twice), 8, 9, 11: 1. Per source, count(s, t) / count(s):
    # 4 (3 pairs): 7 2/3, 8, 9, 10, 11 1/3 each; 5: 7, 8; 6: 7, 9 (1 each)
    sl = build_shortlist(src, tgt, V_SRC, V_TGT, n_frequent=2, per_source=2)
    np.testing.assert_array_equal(sl.frequent, [0, 1, 2, 3, 7, 10])  # the specials, then 7 and 10
    assert sl.table[4].tolist() == [8, 9] and sl.table[5].tolist() == [8, -1] and sl.table[6].tolist() == [9, -1]
    assert (sl.table[[0, 1, 2, 3, 7, 8, 9]] == -1).all()  # never seen as a source
    np.testing.assert_array_equal(sl.columns(np.array([[5, 6, 0]]), np.array([2])), [0, 1, 2, 3, 7, 8, 9, 10])
    np.testing.assert_array_equal(sl.columns(np.array([[5, 6]]), np.array([1]), also=[11]), [0, 1, 2, 3, 7, 8, 10, 11])
    with pytest.raises(ValueError, match="n_frequent and per_source must be >= 0"):
        build_shortlist(src, tgt, V_SRC, V_TGT, n_frequent=-1)
    with pytest.raises(ValueError, match="source id 10 is outside its 10 source tokens"):
        sl.columns(np.array([[4, 10]]), np.array([2]))
    empty = build_shortlist([[4], []], [[], [7]], V_SRC, V_TGT, n_frequent=0, per_source=1)  # empty sides
    assert (empty.table == -1).all() and empty.frequent.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("name", ["transformer", "attention"])
def test_shortlisted_log_probabilities_are_the_models_renormalized_over_the_shortlist(name):
    model = _models(np.float64)[name]
    columns = np.array([0, 1, 2, 3, 5, 8, 11])
    src_ids, src_lengths = pad(SOURCES)
    restricted = Shortlisted(model, columns)
    prev = np.full(len(SOURCES), 2)
    full, state = model.step(prev, model.encode(src_ids, src_lengths))
    short, short_state = restricted.step(prev, restricted.encode(src_ids, src_lengths))
    np.testing.assert_allclose(short, functional.log_softmax(full[:, columns]), rtol=0, atol=1e-12)
    # the next step reads shortlist id 4 as target token 5
    full, _ = model.step(np.full(len(SOURCES), 5), state)
    short, _ = restricted.step(np.full(len(SOURCES), 4), short_state)
    np.testing.assert_allclose(short, functional.log_softmax(full[:, columns]), rtol=0, atol=1e-12)
    assert type(model.output).__name__ in ("TiedOutput", "Linear")  # the model itself is unchanged


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_a_shortlist_of_every_token_changes_nothing_and_a_small_one_bounds_the_outputs(method):
    models = _models()
    every = Shortlist(np.arange(V_TGT), np.full((V_SRC, 1), -1), V_TGT)
    small = Shortlist(np.array([0, 1, 2, 3, 6]), np.full((V_SRC, 2), -1), V_TGT)
    small.table[4] = [9, 10]
    options = dict(method=method, max_len_a=0, max_len_b=6, batch_size=2)
    for model in (*models.values(), Ensemble(list(models.values()))):
        alone = decode_all(model, SOURCES, **options)
        same = decode_all(model, SOURCES, shortlist=every, **options)
        flat = lambda r: [h for x in r for h in (x if isinstance(x, list) else [x])]  # noqa: E731
        assert [h.tokens for h in flat(same)] == [h.tokens for h in flat(alone)]
        np.testing.assert_allclose([h.score for h in flat(same)], [h.score for h in flat(alone)], rtol=1e-5)
        one_by_one = dict(options, batch_size=1)  # a batch's shortlist is its sentence's
        out = decode_all(model, SOURCES, shortlist=small, prefix=[[11], [], [], [], [7, 7]], **one_by_one)
        for sentence, result in zip(SOURCES, out):
            allowed = {6, 9, 10} if 4 in sentence else {6}
            for h in result if isinstance(result, list) else [result]:
                forced = {11} if sentence == SOURCES[0] else {7} if sentence == SOURCES[4] else set()
                assert set(h.tokens) <= allowed | forced | {0, 1, 2}
        first = out[0][0] if method == "beam" else out[0]
        assert first.tokens[0] == 11 and (out[4][0] if method == "beam" else out[4]).tokens[:2] == [7, 7]


def test_shortlists_are_saved_checked_and_refused_when_damaged(tmp_path):
    sl = build_shortlist([[4, 5]], [[7, 8]], V_SRC, V_TGT, n_frequent=1, per_source=3, fingerprint="abc")
    again = Shortlist.load(sl.save(tmp_path / "s"))
    np.testing.assert_array_equal(again.frequent, sl.frequent)
    np.testing.assert_array_equal(again.table, sl.table)
    assert (again.tgt_vocab_size, again.fingerprint) == (V_TGT, "abc")
    with pytest.raises(ValueError, match="the shortlist is for 12 target tokens|outside the model's"):
        Shortlisted(Transformer(TransformerConfig(model_size=8, n_heads=2, ff_size=8, n_encoder_layers=1,
                                                  n_decoder_layers=1), V_SRC, 5, rng=np.random.default_rng(0)),
                    np.array([0, 1, 2, 3, 7]))  # fmt: skip
    with pytest.raises(ValueError, match="sorted, unique and hold the special ids"):
        Shortlisted(_models()["transformer"], np.array([0, 1, 3, 7]))
    (tmp_path / "s" / "shortlist.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="shortlist.json: not an enc2dec shortlist"):
        Shortlist.load(tmp_path / "s")
