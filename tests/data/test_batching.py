import json

import numpy as np
import pytest

from enc2dec.data.batching import Batch, BucketBatcher, batches_in_order, pad
from enc2dec.data.vocab import Vocab


def random_pairs(n=200, seed=0, max_len=12):
    rng = np.random.default_rng(seed)
    return [
        (rng.integers(4, 50, rng.integers(1, max_len)).tolist(), rng.integers(4, 50, rng.integers(1, max_len)).tolist())
        for _ in range(n)
    ]


def test_pad():
    ids, lengths = pad([[5, 6, 7], [8], []])
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 0])
    with pytest.raises(ValueError, match="got no sequences"):
        pad([])


def check_batch(batch: Batch, pairs):
    B = len(batch.index)
    assert batch.src.shape == (B, batch.src_lengths.max()) and batch.tgt.shape == (B, batch.tgt_lengths.max())
    for arr in (batch.src, batch.src_lengths, batch.tgt, batch.tgt_lengths, batch.index):
        assert arr.dtype == np.int64
    for row, i in enumerate(batch.index):
        src, tgt = pairs[i]
        assert batch.src[row, : batch.src_lengths[row]].tolist() == src
        assert batch.tgt[row, : batch.tgt_lengths[row]].tolist() == [Vocab.BOS, *tgt, Vocab.EOS]
        assert (batch.src[row, batch.src_lengths[row] :] == Vocab.PAD).all()
        assert (batch.tgt[row, batch.tgt_lengths[row] :] == Vocab.PAD).all()
    assert batch.n_tgt_tokens == sum(len(pairs[i][1]) + 1 for i in batch.index)


def test_batches_in_order_keep_order():
    pairs = random_pairs(23)
    batches = batches_in_order(pairs, batch_size=5)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert np.concatenate([b.index for b in batches]).tolist() == list(range(23))
    for b in batches:
        check_batch(b, pairs)
    assert len(list(batches)) == len(list(batches))  # a list: iterable twice
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        batches_in_order(pairs, 0)


def test_bucket_batches_cover_each_pair_once_within_budget():
    pairs = random_pairs(300)
    batcher = BucketBatcher(pairs, max_tokens=60, shuffle=True, seed=0)
    seen = []
    for batch in batcher:
        check_batch(batch, pairs)
        B, S = batch.src.shape
        assert max(S, batch.tgt.shape[1]) * B <= 60
        seen += batch.index.tolist()
    assert sorted(seen) == list(range(300))
    assert batcher.epoch == 1 and batcher.position == 0


def test_bucketing_reduces_padding():
    pairs = random_pairs(400, max_len=30)
    padded = sum(b.src.size for b in BucketBatcher(pairs, max_tokens=200, shuffle=False))
    in_order = sum(b.src.size for b in batches_in_order(pairs, 10))
    assert padded < 0.8 * in_order


def test_max_batch_size_and_oversized_pairs():
    pairs = random_pairs(50)
    assert max(len(b) for b in BucketBatcher(pairs, 10_000, shuffle=False, max_batch_size=7)) == 7
    long_pair = [([4] * 40, [5] * 3)] + pairs
    batches = list(BucketBatcher(long_pair, max_tokens=30, shuffle=False))
    alone = [b for b in batches if 0 in b.index.tolist()]
    assert len(alone) == 1 and len(alone[0]) == 1  # kept, in a batch of its own
    with pytest.raises(ValueError, match="max_tokens must be >= 1, got 0"):
        BucketBatcher(pairs, 0)


def test_shuffle_changes_order_between_epochs_and_is_seeded():
    pairs = random_pairs(300)

    def orders(seed):
        b = BucketBatcher(pairs, max_tokens=60, seed=seed)
        return [[batch.index[0] for batch in b] for _ in range(2)]

    first, second = orders(0)
    assert first != second and sorted(first) == sorted(second)
    assert orders(0) == [first, second] and orders(1) != [first, second]


def test_accepts_parallel_text_like():
    class Text:
        src = [[4, 5], [6]]
        tgt = [[7], [8, 9]]

    batches = batches_in_order(Text(), 2)
    assert batches[0].src.tolist() == [[4, 5], [6, 0]]


@pytest.mark.parametrize("stop_after", [0, 3, 17, "epoch_end", 40])
def test_resume_matches_uninterrupted(stop_after):
    pairs = random_pairs(250, seed=1)
    make = lambda: BucketBatcher(pairs, max_tokens=64, shuffle=True, seed=3)  # noqa: E731
    if stop_after == "epoch_end":  # stopped right after an epoch's last batch
        stop_after = len(make())
    assert 40 < 2 * len(make()) and 60 > len(make())  # the run crosses an epoch boundary

    def run(batcher, n):  # take n batches across epoch boundaries, like a trainer with a step budget
        out = []
        while len(out) < n:
            for batch in batcher:
                out.append(batch.index.tolist())
                if len(out) == n:
                    break
        return out

    full = run(make(), 60)
    interrupted = make()
    head = run(interrupted, stop_after)
    state = json.loads(json.dumps(interrupted.state_dict()))  # JSON-able, as in trainer_state.json
    resumed = make()
    resumed.load_state_dict(state)
    assert head + run(resumed, 60 - stop_after) == full


def test_load_state_dict_rejects_other_data():
    state = BucketBatcher(random_pairs(100), 64).state_dict()
    with pytest.raises(ValueError, match=r"the state is for \d+ batches, this batcher has \d+"):
        BucketBatcher(random_pairs(300), 64).load_state_dict(state)
