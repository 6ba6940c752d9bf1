"""Element-wise work on several cores, with results identical to one core.

numpy releases the GIL inside its ufuncs and reductions, so independent pieces of work (the parameters of an
optimizer step, row blocks of the loss) run side by side on threads. Each piece is computed exactly as it would be
alone (row-wise reductions stay within their rows), so the result does not depend on the number of threads.

The number of threads: `set_threads(n)`, else $ENC2DEC_THREADS, else the BLAS setting ($OMP_NUM_THREADS or
$OPENBLAS_NUM_THREADS: one knob for "how many cores this process may use"), else the CPU count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

MIN_ELEMENTS = 1 << 19  # below this much work (~2 MB of float32) a thread hand-off costs more than it saves

_threads: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_workers = 0


def set_threads(n: int | None) -> None:
    """Use n threads for element-wise work (1: none); None goes back to the environment's setting."""
    global _threads
    if n is not None and n < 1:
        raise ValueError(f"set_threads: n must be >= 1 or None, got {n}")
    _threads = n


def n_threads() -> int:
    if _threads is not None:
        return _threads
    for name in ("ENC2DEC_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.strip().isdigit() and int(value) >= 1:
            return int(value)
    return os.cpu_count() or 1


def run(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks, the first on this thread and the others on the pool, and wait for all; re-raises."""
    global _pool, _pool_workers
    if len(tasks) == 1:
        tasks[0]()
        return
    if _pool_workers < len(tasks) - 1:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool_workers = len(tasks) - 1
        _pool = ThreadPoolExecutor(max_workers=_pool_workers, thread_name_prefix="enc2dec")
    futures = [_pool.submit(task) for task in tasks[1:]]
    try:
        tasks[0]()
    finally:
        for future in futures:
            future.result()


def row_blocks(n_rows: int, elements: int) -> list[slice]:
    """Contiguous row ranges for the threads: one per thread when the work (elements in all) is big enough."""
    k = max(1, min(n_threads(), n_rows, elements // MIN_ELEMENTS))
    bounds = [n_rows * i // k for i in range(k + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def over_rows(fn: Callable[[slice], None], n_rows: int, elements: int) -> None:
    """fn(rows) for row blocks that together cover range(n_rows), on several threads when worth it."""
    run([lambda rows=rows: fn(rows) for rows in row_blocks(n_rows, elements)])


def balanced_groups(sizes: Sequence[int]) -> list[list[int]]:
    """Indices of `sizes` in groups of about equal total size, one per thread (largest first, to the lightest
    group); a single group when the total is small."""
    k = max(1, min(n_threads(), len(sizes), sum(sizes) // MIN_ELEMENTS))
    groups: list[list[int]] = [[] for _ in range(k)]
    load = [0] * k
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        j = load.index(min(load))
        groups[j].append(i)
        load[j] += sizes[i]
    return groups
