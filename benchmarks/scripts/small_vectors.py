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
    x = 0
    while not stop.is_set():
        for _ in range(10_000):
            x += 1


def _median_ms(fn: Callable[[np.ndarray], object], queries: np.ndarray) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _measure(size: int, queries: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    matrix = rng.standard_normal((size, DIM)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = VectorIndex(DIM, ann_threshold=size + 1)
    index.add(np.arange(size), matrix)
    return {
        "blas": _median_ms(lambda q: matrix @ q, queries),
        "einsum": _median_ms(lambda q: np.einsum("ij,j->i", matrix, q), queries),
        "index.search": _median_ms(lambda q: index.search(q, 5), queries),
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
        f"{args.queries} queries of {DIM} dims; median ms per query; busy = {args.load} "
        "spinning processes"
    )
    header = (
        f"{'vectors':>8} {'state':>5} {'blas':>9} {'einsum':>9} {'search':>9} {'blas/einsum':>12}"
    )
    print(header)
    for size in sizes:
        for state, table in (("idle", idle), ("busy", busy)):
            row = table[size]
            print(
                f"{size:>8} {state:>5} {row['blas']:>9.3f} {row['einsum']:>9.3f} "
                f"{row['index.search']:>9.3f} {row['blas'] / row['einsum']:>12.1f}"
            )


if __name__ == "__main__":
    main()
