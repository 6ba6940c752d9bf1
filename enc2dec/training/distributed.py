"""Data parallelism over MPI (mpi4py): the processes of `mpiexec -n N` (or `srun`) as one communicator.

`world()` gives the communicator of this process: `SingleProcess` (rank 0 of 1, no MPI imported, every call a
no-op or an identity, so one process trains bit-identically to a run that knows nothing of this module) or
`MPIWorld`, a thin wrapper of mpi4py's COMM_WORLD, when the launcher started more than one process. Both have the
same interface: rank, size, allreduce_sum (small float64 vectors: losses and counts), bcast_json / gather_json
(JSON-able objects, sent as UTF-8 bytes: no pickle), bcast_arrays, gather_arrays (raw bytes after a JSON header),
barrier, abort.

`shard_map` (JSON results) and `shard_rows` (arrays) split the work of a use verb over the ranks and bring the
results back to rank 0 in input order: sharded translation, encoding and evaluation.

`GradientReducer` sums the gradients of all processes: they live in a few large flat buckets allocated once (each
gradient a view into its bucket), and a non-blocking sum-allreduce of each bucket starts as soon as it is scaled.
mpi4py is imported only inside `MPIWorld`: `pip install -e ".[mpi]"` brings it with MPICH.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from enc2dec.nn.parameter import Parameter

# Environment variables by which MPI launchers tell a process the size of its world (MPICH/Hydra and Intel MPI,
# Open MPI, MVAPICH, PMIx launchers such as SLURM's srun --mpi=pmix).
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")
# ... and how many of them run on this machine (MPICH/Hydra, Open MPI, MVAPICH, SLURM).
_LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "MV2_COMM_WORLD_LOCAL_SIZE",
                         "SLURM_NTASKS_PER_NODE")  # fmt: skip
_THREAD_VARIABLES = ("ENC2DEC_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BUCKET_ELEMENTS = 1 << 22  # 16 MB of float32 per bucket: few messages, and packing overlaps the reduction
ROWS_PER_CALL = 1024  # shard_rows: rows per call of its function, the unit dealt to the ranks
MPI_EXTRA = "pip install 'enc2dec[mpi]' (or pip install mpi4py mpich)"


def launched_size() -> int:
    """How many processes the MPI launcher started (1 when not started by one), read from its environment."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def threads_per_rank() -> int | None:
    """The BLAS threads each process of an MPI job should take so that the processes on this machine share its
    cores without oversubscribing them (a waiting OpenBLAS thread spins): the CPUs this process may use, divided
    by the processes on this machine when the launcher did not bind each to its own cores. None (leave the
    setting alone) for one process, or when the user chose a number ($ENC2DEC_THREADS, $OMP_NUM_THREADS, ...)."""
    if launched_size() == 1 or any(os.environ.get(name, "").strip() for name in _THREAD_VARIABLES):
        return None
    local = next((int(v) for v in map(os.environ.get, _LOCAL_SIZE_VARIABLES) if v and v.isdigit()), launched_size())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    bound = usable < (os.cpu_count() or usable)  # the launcher gave this process its own cores
    return usable if bound else max(1, usable // max(local, 1))


def limit_threads_per_rank() -> int | None:
    """Apply threads_per_rank() to numpy's BLAS (threadpoolctl) and enc2dec's element-wise threads; return it."""
    n = threads_per_rank()
    if n is not None:
        import threadpoolctl

        from enc2dec.nn import parallel

        threadpoolctl.threadpool_limits(n)
        parallel.set_threads(n)
    return n


class SingleProcess:
    """The world of one process: rank 0 of 1; reductions and broadcasts return their input."""

    rank = 0
    size = 1

    def allreduce_sum(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    def bcast_json(self, obj: Any) -> Any:
        return obj

    def gather_json(self, obj: Any) -> list[Any] | None:
        return [obj]

    def bcast_arrays(self, arrays: list[np.ndarray]) -> None:
        pass

    def gather_arrays(self, array: np.ndarray | None) -> list[np.ndarray | None] | None:
        return [array]

    def barrier(self) -> None:
        pass

    def abort(self, code: int) -> None:
        raise SystemExit(code)


class MPIWorld:
    """mpi4py's COMM_WORLD: the processes of one `mpiexec -n N` job."""

    def __init__(self) -> None:
        try:
            from mpi4py import MPI
        except ImportError as err:
            raise ImportError(
                f"started by an MPI launcher with {launched_size()} processes, but mpi4py is missing: {MPI_EXTRA}"
            ) from err
        self._mpi = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()

    def allreduce_sum(self, values: np.ndarray) -> np.ndarray:
        """values: (k,) -> their sum over the processes, float64 (the same on every rank)."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        out = np.empty_like(values)
        self.comm.Allreduce(values, out, op=self._mpi.SUM)
        return out

    def bcast_json(self, obj: Any) -> Any:
        """Rank 0's `obj` (JSON-able) on every rank."""
        data = json.dumps(obj).encode("utf-8") if self.rank == 0 else b""
        n = np.array([len(data)], dtype=np.int64)
        self.comm.Bcast(n, root=0)
        buf = np.frombuffer(data, dtype=np.uint8).copy() if self.rank == 0 else np.empty(int(n[0]), dtype=np.uint8)
        self.comm.Bcast(buf, root=0)
        return json.loads(buf.tobytes().decode("utf-8"))

    def gather_json(self, obj: Any) -> list[Any] | None:
        """Every rank's `obj` (JSON-able), in rank order, on rank 0; None elsewhere."""
        parts = self._gather_bytes(np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8))
        return None if parts is None else [json.loads(p.tobytes().decode("utf-8")) for p in parts]

    def gather_arrays(self, array: np.ndarray | None) -> list[np.ndarray | None] | None:
        """Every rank's array (numeric, any shape; or None), in rank order, on rank 0; None elsewhere. Sent as
        raw bytes after a JSON header of shape and dtype: no pickle."""
        if array is not None and array.dtype.hasobject:
            raise TypeError(f"gather_arrays: needs a numeric array, got dtype {array.dtype}")
        heads = self.gather_json(None if array is None else [list(array.shape), array.dtype.str])
        data = np.empty(0, dtype=np.uint8) if array is None else np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        parts = self._gather_bytes(data)
        if parts is None:
            return None
        return [None if h is None else p.view(np.dtype(h[1])).reshape(h[0]) for h, p in zip(heads, parts)]

    def _gather_bytes(self, data: np.ndarray) -> list[np.ndarray] | None:
        """Every rank's uint8 buffer, in rank order, on rank 0 (one Gatherv); None elsewhere."""
        counts = np.zeros(self.size, dtype=np.int64)
        self.comm.Allgather(np.array([len(data)], dtype=np.int64), counts)
        out = np.empty(int(counts.sum()), dtype=np.uint8) if self.rank == 0 else None
        self.comm.Gatherv(data, [out, counts.tolist()] if self.rank == 0 else None, root=0)
        if self.rank != 0:
            return None
        ends = np.cumsum(counts).tolist()
        return [out[e - c : e] for c, e in zip(counts.tolist(), ends)]

    def bcast_arrays(self, arrays: list[np.ndarray]) -> None:
        """Overwrite each (contiguous) array with rank 0's, in place."""
        for a in arrays:
            self.comm.Bcast(a, root=0)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int) -> None:
        """End every process of the job (a rank that fails alone would leave the others waiting)."""
        self.comm.Abort(code)


def world() -> SingleProcess | MPIWorld:
    """The communicator of this process: MPIWorld under a launcher with more than one process, else
    SingleProcess (and mpi4py is not imported)."""
    return MPIWorld() if launched_size() > 1 else SingleProcess()


def contiguous_blocks(n: int, size: int) -> list[list[int]]:
    """range(n) cut into `size` contiguous blocks, the first n % size one longer (some empty when n < size)."""
    base, extra = divmod(n, size)
    cuts = [r * base + min(r, extra) for r in range(size + 1)]
    return [list(range(cuts[r], cuts[r + 1])) for r in range(size)]


def deal_blocks(blocks: Sequence[Sequence[int]], size: int, weights: Sequence[float] | None = None) -> list[list[int]]:
    """Blocks of item indices dealt whole, in their order, each to the rank with the least weight so far (ties: the
    lower rank): rank r's share is its blocks concatenated. weights: one per item (default 1 each). Given the
    blocks heaviest first, this balances the ranks within one block."""
    loads = [0.0] * size
    shares: list[list[int]] = [[] for _ in range(size)]
    for block in blocks:
        r = loads.index(min(loads))
        shares[r].extend(block)
        loads[r] += len(block) if weights is None else sum(weights[i] for i in block)
    return shares


def shard_map(comm: Any, items: Sequence[Any], fn: Callable[[list[Any]], list[Any]], *,
              blocks: Sequence[Sequence[int]] | None = None, weights: Sequence[float] | None = None) -> list[Any] | None:  # fmt: skip
    """fn over `items`, split across the ranks of comm: each rank calls fn(its share) -> one JSON-able result per
    item (not called on an empty share but on rank 0), and rank 0 gets every result in input order; None on the
    other ranks. blocks: groups of item indices each rank takes whole and hands to fn in that order (see
    deal_blocks); default: `size` contiguous blocks. One process: fn(items), nothing sent."""
    if comm.size == 1:
        return fn(list(items))
    if blocks is None:
        blocks = contiguous_blocks(len(items), comm.size)
    else:
        dealt = sorted(i for block in blocks for i in block)
        if dealt != list(range(len(items))):
            raise ValueError(f"shard_map: blocks must hold each of the {len(items)} item indices once")
    mine = deal_blocks(blocks, comm.size, weights)[comm.rank]
    results = fn([items[i] for i in mine]) if mine or comm.rank == 0 else []
    if len(results) != len(mine):
        raise ValueError(f"shard_map: fn returned {len(results)} results for {len(mine)} items")
    gathered = comm.gather_json([mine, results])
    if gathered is None:
        return None
    out: list[Any] = [None] * len(items)
    for indices, values in gathered:
        for i, value in zip(indices, values):
            out[i] = value
    return out


def shard_rows(comm: Any, rows: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], *,
               chunk: int = ROWS_PER_CALL) -> np.ndarray | None:  # fmt: skip
    """fn over the rows of an array, `chunk` rows a call, the chunks split across the ranks in contiguous runs:
    rank 0 gets fn's outputs concatenated in input order (sent as raw bytes, no pickle); None on the other ranks.
    Every rank makes the very calls one process makes (BLAS may round a row differently in a matrix of another
    height), so the result is bit-identical to one process's; one process with rows <= chunk: fn(rows)."""
    if len(rows) <= chunk and comm.size == 1:
        return fn(rows)
    starts = list(range(0, len(rows), chunk))
    mine = contiguous_blocks(len(starts), comm.size)[comm.rank]
    local = [fn(rows[starts[k] : starts[k] + chunk]) for k in mine]
    if comm.rank == 0 and not starts:
        local = [fn(rows)]  # no rows: fn says what an empty output is
    parts = comm.gather_arrays(np.concatenate(local, axis=0) if local else None)
    if parts is None:
        return None
    return np.concatenate([p for p in parts if p is not None], axis=0)


class GradientReducer:
    """Sums the gradients of `params` over the processes of `comm`, each scaled first by a factor (n_local /
    n_global gives the gradient of the global item-weighted mean loss). The gradients live in a few large flat
    buckets, allocated once: each p.grad becomes a view into its bucket (PyTorch DDP's gradient_as_bucket_view),
    so a bucket is scaled and summed in place, with no packing or unpacking copy. Backward passes add into p.grad
    in place, as they must; replacing a p.grad array afterwards is refused at the next reduce."""

    def __init__(self, params: list[Parameter], comm: MPIWorld, bucket_elements: int = BUCKET_ELEMENTS):
        dtypes = {p.grad.dtype for p in params}
        if len(dtypes) > 1:
            raise ValueError(f"GradientReducer: the parameters mix dtypes {sorted(map(str, dtypes))}; cast the model")
        self.comm = comm
        self.buckets: list[np.ndarray] = []  # flat buffers, in the gradients' dtype
        self.views: list[tuple[Parameter, np.ndarray]] = []  # (p, the view p.grad must stay)
        groups: list[list[Parameter]] = []
        size = 0
        for p in params:
            if not groups or (size + p.grad.size > bucket_elements and groups[-1]):
                groups.append([])
                size = 0
            groups[-1].append(p)
            size += p.grad.size
        for group in groups:
            buf = np.empty(sum(p.grad.size for p in group), dtype=group[0].grad.dtype)
            offset = 0
            for p in group:
                view = buf[offset : offset + p.grad.size].reshape(p.grad.shape)
                view[...] = p.grad
                p.grad = view
                self.views.append((p, view))
                offset += p.grad.size
            self.buckets.append(buf)

    def reduce(self, scale: float) -> None:
        """p.grad <- sum over ranks of scale_r * p.grad_r, for every parameter."""
        for p, view in self.views:
            if p.grad is not view:
                raise RuntimeError("GradientReducer: a gradient array was replaced after the reducer was built "
                                   "(build the Trainer after casting the model)")  # fmt: skip
        mpi = self.comm._mpi
        requests = []
        for buf in self.buckets:
            buf *= buf.dtype.type(scale)
            requests.append(self.comm.comm.Iallreduce(mpi.IN_PLACE, buf, op=mpi.SUM))  # runs while the next scales
        for request in requests:
            request.Wait()
