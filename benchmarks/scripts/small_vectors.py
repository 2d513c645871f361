"""Exact retrieval over a small memory, idle and on a busy machine: BLAS matmul against the
single-threaded scan the vector index uses (issue 23, class 9).

numpy's OpenBLAS splits a matrix-vector product over all cores once the matrix is large
enough (3,000 x 384 is). On a box whose cores are already busy (a local model judging, a test
run) those threads wait for a core each, and a 0.05 ms product can take milliseconds. The
index scans with ``np.einsum``, which runs on the calling thread only. This script prints the
median per-query time of both, with and without competing CPU load, side by side.

    python benchmarks/scripts/small_vectors.py [--sizes 300,3000,20000] [--queries 400]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from memalign.memory import VectorIndex

DIM = 384


def _spin(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    # Like a local model judging beside retrieval: multi-threaded dense algebra on every core.
    a = np.random.default_rng(1).standard_normal((768, 768)).astype(np.float32)
    while not stop.is_set():
        a = np.tanh(a @ a.T * 1e-3)


def _times_ms(fn: Callable[[np.ndarray], object], queries: np.ndarray) -> tuple[float, float]:
    """(median, 95th percentile) milliseconds per query."""
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def _measure(
    size: int, queries: np.ndarray, rng: np.random.Generator
) -> dict[str, tuple[float, float]]:
    matrix = rng.standard_normal((size, DIM)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = VectorIndex(DIM, ann_threshold=size + 1)
    index.add(np.arange(size), matrix)
    return {
        "blas": _times_ms(lambda q: matrix @ q, queries),
        "einsum": _times_ms(lambda q: np.einsum("ij,j->i", matrix, q), queries),
        "index.search": _times_ms(lambda q: index.search(q, 5), queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,3000,20000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((args.queries, DIM)).astype(np.float32)
    sizes = [int(s) for s in args.sizes.split(",")]

    idle = {size: _measure(size, queries, rng) for size in sizes}
    stop = mp.Event()
    spinners = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.load)]
    for p in spinners:
        p.start()
    time.sleep(0.5)
    try:
        busy = {size: _measure(size, queries, rng) for size in sizes}
    finally:
        stop.set()
        for p in spinners:
            p.join()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}; "
        f"{args.queries} queries of {DIM} dims; ms per query, median/p95; busy = "
        f"{args.load} processes doing multi-threaded matrix products"
    )
    kinds = ("blas", "einsum", "index.search")
    print(f"{'vectors':>8} {'state':>5} " + " ".join(f"{k:>15}" for k in kinds) + "  blas/einsum")
    for size in sizes:
        for state, table in (("idle", idle), ("busy", busy)):
            row = table[size]
            cells = " ".join(f"{row[k][0]:>7.3f}/{row[k][1]:<7.3f}" for k in kinds)
            ratio = (
                f"{row['blas'][0] / row['einsum'][0]:.1f}/{row['blas'][1] / row['einsum'][1]:.1f}"
            )
            print(f"{size:>8} {state:>5} {cells}  {ratio:>11}")


if __name__ == "__main__":
    main()
