"""Data parallelism over MPI (mpi4py): the processes of `mpiexec -n N` (or `srun`) as one communicator.

`world()` gives the communicator of this process: `SingleProcess` (rank 0 of 1, no MPI imported, every call a
no-op or an identity, so one process trains bit-identically to a run that knows nothing of this module) or
`MPIWorld`, a thin wrapper of mpi4py's COMM_WORLD, when the launcher started more than one process. Both have the
same interface: rank, size, allreduce_sum (small float64 vectors: losses and counts), bcast_json / gather_json
(JSON-able objects, sent as UTF-8 bytes: no pickle), bcast_arrays, barrier, abort.

`GradientReducer` sums the gradients of all processes: it packs them into a few large flat float32 buckets,
allocated once, starts a non-blocking sum-allreduce of each bucket as soon as it is packed, and unpacks the sums
into the gradients. mpi4py is imported only inside `MPIWorld`: `pip install -e ".[mpi]"` brings it with MPICH.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from enc2dec.nn.parameter import Parameter

# Environment variables by which MPI launchers tell a process the size of its world (MPICH/Hydra and Intel MPI,
# Open MPI, MVAPICH, PMIx launchers such as SLURM's srun --mpi=pmix).
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")
BUCKET_ELEMENTS = 1 << 22  # 16 MB of float32 per bucket: few messages, and packing overlaps the reduction
MPI_EXTRA = "pip install 'enc2dec[mpi]' (or pip install mpi4py mpich)"


def launched_size() -> int:
    """How many processes the MPI launcher started (1 when not started by one), read from its environment."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


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
        data = np.frombuffer(json.dumps(obj).encode("utf-8"), dtype=np.uint8)
        counts = np.zeros(self.size, dtype=np.int64)
        self.comm.Allgather(np.array([len(data)], dtype=np.int64), counts)
        out = np.empty(int(counts.sum()), dtype=np.uint8) if self.rank == 0 else None
        self.comm.Gatherv(data, [out, counts.tolist()] if self.rank == 0 else None, root=0)
        if self.rank != 0:
            return None
        ends = np.cumsum(counts)
        return [json.loads(out[e - c : e].tobytes().decode("utf-8")) for c, e in zip(counts.tolist(), ends.tolist())]

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


class GradientReducer:
    """Sums the gradients of `params` over the processes of `comm`, each scaled first by a factor (n_local /
    n_global gives the gradient of the global item-weighted mean loss). Buckets are allocated once."""

    def __init__(self, params: list[Parameter], comm: MPIWorld, bucket_elements: int = BUCKET_ELEMENTS):
        self.params = params
        self.comm = comm
        self.buckets: list[tuple[np.ndarray, list[tuple[Parameter, int]]]] = []  # (flat float32 buffer, [(p, offset)])
        members: list[tuple[Parameter, int]] = []
        size = 0
        for p in params:
            if members and size + p.grad.size > bucket_elements:
                self.buckets.append((np.empty(size, dtype=np.float32), members))
                members, size = [], 0
            members.append((p, size))
            size += p.grad.size
        if members:
            self.buckets.append((np.empty(size, dtype=np.float32), members))

    def reduce(self, scale: float) -> None:
        """p.grad <- sum over ranks of scale_r * p.grad_r, for every parameter."""
        mpi = self.comm._mpi
        requests = []
        for buf, members in self.buckets:
            for p, offset in members:
                np.multiply(p.grad.reshape(-1), np.float32(scale), out=buf[offset : offset + p.grad.size])
            requests.append(self.comm.comm.Iallreduce(mpi.IN_PLACE, buf, op=mpi.SUM))  # runs while the next packs
        for request, (buf, members) in zip(requests, self.buckets):
            request.Wait()
            for p, offset in members:
                p.grad[...] = buf[offset : offset + p.grad.size].reshape(p.grad.shape)
