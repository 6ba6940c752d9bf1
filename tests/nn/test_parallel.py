"""enc2dec.nn.parallel: work split over threads gives bit-identical results to one thread."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.losses import CrossEntropy
from enc2dec.nn import parallel
from enc2dec.nn.parameter import Parameter
from enc2dec.optim import SGD, Adam


@pytest.fixture
def threads():
    """Run a function with n threads; the setting is restored afterwards."""

    def with_threads(n, fn):
        parallel.set_threads(n)
        try:
            return fn()
        finally:
            parallel.set_threads(None)

    return with_threads


def test_row_blocks_cover_the_rows_once(threads):
    for n_rows, elements in [(0, 0), (1, 10**9), (7, 10**9), (1000, 10**9), (1000, 10)]:
        blocks = threads(3, lambda n_rows=n_rows, elements=elements: parallel.row_blocks(n_rows, elements))
        covered = [i for b in blocks for i in range(n_rows)[b]]
        assert covered == list(range(n_rows))
        assert len(blocks) == (1 if elements < parallel.MIN_ELEMENTS or n_rows < 2 else min(3, n_rows))


def test_balanced_groups_partition_the_indices(threads):
    sizes = [5, 1 << 20, 3 << 19, 1 << 19, 7, 1 << 21]
    groups = threads(2, lambda: parallel.balanced_groups(sizes))
    assert len(groups) == 2 and sorted(i for g in groups for i in g) == list(range(len(sizes)))
    loads = [sum(sizes[i] for i in g) for g in groups]
    assert max(loads) - min(loads) <= max(sizes)
    assert threads(2, lambda: parallel.balanced_groups([5, 7])) == [[1, 0]]  # small work: one group


def test_run_reraises_a_worker_error(threads):
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        threads(2, lambda: parallel.run([lambda: None, fail]))


def test_set_threads_and_environment(monkeypatch):
    monkeypatch.setenv("ENC2DEC_THREADS", "3")
    assert parallel.n_threads() == 3
    monkeypatch.delenv("ENC2DEC_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert parallel.n_threads() == 1
    parallel.set_threads(4)
    try:
        assert parallel.n_threads() == 4
    finally:
        parallel.set_threads(None)
    with pytest.raises(ValueError, match="n must be >= 1"):
        parallel.set_threads(0)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_is_the_same_on_threads(threads, smoothing):
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((700, 1500)) * 3).astype(np.float32)  # 1M elements: split in row blocks
    target = rng.integers(0, 1500, 700)
    target[::9] = 0  # ignored

    def loss_and_grad():
        loss = CrossEntropy(ignore_index=0, smoothing=smoothing)
        return loss.forward(logits, target), loss.backward()

    (l1, d1), (l4, d4) = threads(1, loss_and_grad), threads(4, loss_and_grad)
    assert l1 == l4
    np.testing.assert_array_equal(d1, d4)


@pytest.mark.parametrize("make", [lambda ps: Adam(ps, lr=1e-2, weight_decay=0.01), lambda ps: SGD(ps, 0.1, 0.9)])
def test_optimizer_step_is_the_same_on_threads(threads, make):
    rng = np.random.default_rng(1)
    shapes = [(700, 800), (800,), (300, 900), (5, 5), (1 << 19,)]
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]

    def three_steps():
        params = [Parameter(v.copy()) for v in values]
        opt = make(params)
        for g in grads:
            for p, gi in zip(params, g):
                p.grad[...] = gi
            opt.step()
        return [p.value for p in params]

    for a, b in zip(threads(1, three_steps), threads(3, three_steps)):
        np.testing.assert_array_equal(a, b)


def test_optimizer_rejects_a_parameter_twice():
    p = Parameter(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="appears more than once"):
        Adam([p, p])


def test_decoding_pieces_are_the_same_on_threads(threads):
    """The log-softmax of decoding's logits, the beam's per-row top columns and LSTM and GRU steps run in row
    blocks."""
    from enc2dec.decoding.beam import top_columns
    from enc2dec.nn.functional import log_softmax
    from enc2dec.recurrent import GRU, LSTM

    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((300, 4000)) * 3).astype(np.float32)  # 1.2M elements: split in row blocks
    lstm, gru = LSTM(64, 256, rng=rng), GRU(64, 256, rng=rng)  # steps over (600, 4 or 3 * 256) gates: split too
    x = rng.standard_normal((600, 64)).astype(np.float32)
    state = tuple(rng.standard_normal((600, 256)).astype(np.float32) for _ in range(2))

    def pieces():
        log_probs = log_softmax(logits.copy(), out=None)
        h, (h2, c) = lstm.step(x, state)
        return [log_probs, top_columns(log_probs, 10), h, h2, c, gru.step(x, state[0])[0]]

    for a, b in zip(threads(1, pieces), threads(3, pieces)):
        np.testing.assert_array_equal(a, b)
