"""The pieces of data parallelism that need no MPI: the single-process stand-in, batcher shares, --workers."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from enc2dec import cli
from enc2dec.data.arrays import ArrayBatcher
from enc2dec.data.batching import BucketBatcher
from enc2dec.nn.parameter import Parameter
from enc2dec.training import distributed
from enc2dec.training.distributed import GradientReducer


def test_one_process_is_the_stand_in_without_mpi(monkeypatch):
    for name in distributed._SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    comm = distributed.world()
    assert isinstance(comm, distributed.SingleProcess) and (comm.rank, comm.size) == (0, 1)
    assert comm.bcast_json({"a": 1}) == {"a": 1} and comm.gather_json(3) == [3]
    np.testing.assert_array_equal(comm.allreduce_sum(np.array([1.5, 2.0])), [1.5, 2.0])
    monkeypatch.setenv("PMI_SIZE", "4")
    assert distributed.launched_size() == 4


def test_shares_of_each_rank_make_up_the_global_batch():
    x = np.arange(22, dtype=np.float32)[:, None]
    whole = [b[0][:, 0].tolist() for b in ArrayBatcher(x, batch_size=5, seed=3)]
    shards = []
    for rank in range(3):
        batcher = ArrayBatcher(x, batch_size=5, seed=3)
        batcher.shard(rank, 3)
        shards.append([None if b is None else b[0][:, 0].tolist() for b in batcher])
    for k, batch in enumerate(whole):
        parts = [s[k] for s in shards if s[k] is not None]
        assert sorted(sum(parts, [])) == sorted(batch)
    assert shards[2][-1] is None  # the last batch has 2 rows: rank 2's share of it is empty

    pairs = [([1 + i % 5] * (1 + i % 7), [2] * (1 + i % 4)) for i in range(40)]
    whole = [b.index.tolist() for b in BucketBatcher(pairs, max_tokens=30, seed=1)]
    shares = []
    for rank in range(2):
        batcher = BucketBatcher(pairs, max_tokens=30, seed=1)
        batcher.shard(rank, 2)
        shares.append([[] if b is None else b.index.tolist() for b in batcher])
        assert batcher.state_dict()["position"] == 0 and batcher.epoch == 1  # the state stays global
    assert [sorted(a + b) for a, b in zip(*shares)] == [sorted(w) for w in whole]


def test_workers_need_the_mpi_extra(monkeypatch, capsys, tmp_path):
    from tests.test_run import SMALL

    config = tmp_path / "c.yaml"
    config.write_text(str(SMALL).replace("'", '"'))  # a Python dict of strings and numbers is YAML flow style
    for name in distributed._SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["train", str(config), "--out", str(tmp_path / "r"), "--workers", "0"]) == 2
    assert "error: --workers must be >= 1, got 0" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mpi4py" else real(name, *a))
    assert cli.main(["train", str(config), "--out", str(tmp_path / "r"), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("enc2dec train: error: --workers 2 needs mpi4py") and "pip install" in err
    assert err.count("\n") == 1


def test_the_gradient_reducer_keeps_gradients_as_views_of_its_buckets():
    params = [
        Parameter(np.ones((3, 4), np.float32)),
        Parameter(np.ones(5, np.float32)),
        Parameter(np.ones(7, np.float32)),
    ]
    for i, p in enumerate(params):
        p.grad[...] = i + 1
    reducer = GradientReducer(params, comm=None, bucket_elements=16)  # buckets: [12 + 5 elements > 16 -> split]
    assert [b.size for b in reducer.buckets] == [12, 12]
    assert all(np.shares_memory(p.grad, reducer.buckets[k]) for p, k in zip(params, (0, 1, 1)))
    assert [float(p.grad.mean()) for p in params] == [1.0, 2.0, 3.0] and params[0].grad.shape == (3, 4)
    params[1].grad = np.zeros(5, np.float32)  # replaced: the reducer would sum a stale buffer
    with pytest.raises(RuntimeError, match="a gradient array was replaced after the reducer was built"):
        reducer.reduce(1.0)
    with pytest.raises(ValueError, match="the parameters mix dtypes"):
        GradientReducer([Parameter(np.ones(2, np.float32)), Parameter(np.ones(2))], comm=None)
