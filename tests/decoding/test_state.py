"""The contract's helpers: row selection and repetition, maximum lengths, length normalisation, special ids."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding.state import Hypothesis, max_lengths, normalize, repeat_rows, select_rows
from enc2dec.specials import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID


def test_repeat_then_select_rows():
    state = {"h": np.arange(6, dtype=np.float32).reshape(3, 2), "memory": np.arange(3 * 4 * 5).reshape(3, 4, 5)}
    rep = repeat_rows(state, 2)
    assert rep["h"].shape == (6, 2) and rep["memory"].shape == (6, 4, 5)
    np.testing.assert_array_equal(rep["h"][[0, 1, 4]], state["h"][[0, 0, 2]])
    sel = select_rows(rep, np.array([5, 0, 0]))
    np.testing.assert_array_equal(sel["memory"], state["memory"][[2, 0, 0]])
    assert select_rows(state, np.array([True, False, True]))["h"].shape == (2, 2)


def test_shared_rows_stay_views():
    from enc2dec.decoding.state import share_rows

    batch = np.arange(12.0).reshape(3, 4)
    state = {"h": np.arange(3.0), "batch": share_rows(batch, 3)}
    for out, n in ((repeat_rows(state, 2), 6), (select_rows(state, np.array([2, 0])), 2),
                   (select_rows(state, np.array([True, False, True])), 2)):  # fmt: skip
        assert out["batch"].shape == (n, 3, 4) and out["batch"].strides[0] == 0
        assert np.shares_memory(out["batch"], batch)
        np.testing.assert_array_equal(out["batch"], np.broadcast_to(batch, (n, 3, 4)))  # what a copy would hold
    np.testing.assert_array_equal(select_rows(state, np.array([2, 0]))["h"], [2.0, 0.0])


def test_group_by_sentence_keeps_the_running_sentences_once():
    from enc2dec.specials import by_sentence, group_by_sentence

    source = np.arange(3.0)[:, None] * np.ones((3, 2))  # 3 sentences' source rows: [0, 0], [1, 1], [2, 2]
    state = by_sentence({"src": source, "h": np.arange(3.0)}, ("src",))
    np.testing.assert_array_equal(state["sentence"], [0, 1, 2])
    assert state["src"].shape == (3, 3, 2) and state["src"].strides[0] == 0 and state["h"].strides[0] != 0
    assert group_by_sentence(state, ("src",)) is state  # in order already
    beams = select_rows(repeat_rows(state, 2), np.array([1, 0, 4, 5]))  # sentence 1 finished, beams reordered
    grouped = group_by_sentence(beams, ("src",))
    np.testing.assert_array_equal(grouped["sentence"], [0, 0, 1, 1])
    np.testing.assert_array_equal(grouped["src"][0], source[[0, 2]])  # only the running sentences, once
    assert grouped["src"].shape == (4, 2, 2) and grouped["src"].strides[0] == 0 and grouped["h"] is beams["h"]
    mixed = select_rows(state, np.array([2, 0, 2]))  # not in runs of equal length: one sentence per row
    grouped = group_by_sentence(mixed, ("src",))
    np.testing.assert_array_equal(grouped["sentence"], [0, 1, 2])
    np.testing.assert_array_equal(grouped["src"][0], source[[2, 0, 2]])


def test_max_lengths_truncate_and_floor_at_one():
    np.testing.assert_array_equal(max_lengths(np.array([1, 3, 10]), 1.5, 10), [11, 14, 25])
    np.testing.assert_array_equal(max_lengths(np.array([1, 3]), 0.0, -2), [1, 1])


def test_normalize_and_hypothesis_length():
    assert normalize(-6.0, 3, 0.0) == -6.0
    assert normalize(-6.0, 3, 1.0) == pytest.approx(-2.0)
    assert normalize(-8.0, 4, 0.5) == pytest.approx(-4.0)
    assert Hypothesis([5, 6], -6.0).normalized_score(1.0) == pytest.approx(-2.0)  # 2 tokens + eos
    assert Hypothesis([5, 6], -6.0, reached_eos=False).normalized_score(1.0) == pytest.approx(-3.0)


def test_special_ids_agree_with_vocab():
    from enc2dec.data.vocab import Vocab

    assert (Vocab.PAD, Vocab.UNK, Vocab.BOS, Vocab.EOS) == (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
    assert Vocab.SPECIALS == SPECIAL_TOKENS


def test_hypothesis_equality_compares_attention_arrays():
    attn = np.eye(3, 4, dtype=np.float32)
    assert Hypothesis([5, 6], -1.0, attn) == Hypothesis([5, 6], -1.0, attn.copy())
    assert Hypothesis([5, 6], -1.0, attn) != Hypothesis([5, 6], -1.0, attn[::-1])
    assert Hypothesis([5, 6], -1.0, attn) != Hypothesis([5, 6], -1.0)
    assert Hypothesis([5, 6], -1.0) != Hypothesis([5, 6], -1.0, reached_eos=False)
