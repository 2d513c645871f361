"""Memory at scale: retrieval, opening, adding, deleting and judging overhead at 100k / 1M examples.

    .venv/bin/python benchmarks/scripts/scale.py --sizes 100000,1000000 --out docs/benchmarks/scale

Vectors are SYNTHETIC (384-d, a 200-component Gaussian mixture in a 48-d latent space projected
up, plus noise: clustered like sentence embeddings, unlike uniform noise, on which no index has
neighbours worth finding). Records are synthetic too. The LLM is a constant scripted answer and
the embedder a hash, so what is timed is memalign's own work; time inside the LLM and the
embedder is measured and subtracted where a target excludes it. Medians and p95 over repeats;
every figure is printed next to its target with the ratio measured / target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memalign import Feedback, Judge, JudgeSpec, Labels, open_store
from memalign.memory.vector_index import VectorIndex
from memalign.providers import Completion, CompletionRequest
from memalign.records import Example
from memalign.stores import ChangeSet
from memalign.testing import HashEmbedder, ScriptedLLM

DIM = 384
SPEC = JudgeSpec(
    name="scale",
    instructions="Does the answer in {{ outputs }} address {{ inputs }}?",
    output=Labels(("Pass", "Fail")),
).with_memory(detect_disagreements=False, use_guidelines=False)


def synthetic_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    proj = np.random.default_rng(99).standard_normal((48, DIM)).astype(np.float32)
    centers = np.random.default_rng(98).standard_normal((200, 48)).astype(np.float32) * 2
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        z = centers[rng.integers(0, 200, m)] + rng.standard_normal((m, 48)).astype(np.float32)
        x = z @ proj + 0.5 * rng.standard_normal((m, DIM)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


class TimedEmbedder(HashEmbedder):
    """The hash embedder, timing itself so embedding can be subtracted."""

    def __init__(self) -> None:
        super().__init__(dim=DIM)
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        start = time.perf_counter()
        try:
            return super().embed(texts)
        finally:
            self.seconds += time.perf_counter() - start


def constant_llm(sleep: float = 0.0) -> ScriptedLLM:
    def answer(request: CompletionRequest) -> Completion:
        if sleep:
            time.sleep(sleep)
        if request.purpose == "judge":
            return Completion(text='{"rationale": "ok", "value": "Pass"}')
        return Completion(text='{"guidelines": []}')

    return ScriptedLLM(answer, name="constant")


def record(i: int, feedback: bool = False) -> Feedback:
    return Feedback(
        id=f"r{i:08d}",
        inputs=f"synthetic question {i}",
        outputs=f"synthetic answer {i}",
        label="Pass" if i % 3 else "Fail",
        feedback=f"Rule {i % 40}: answers citing clause {i % 40} pass." if feedback else None,
    )


def build_store(path: Path, n: int) -> tuple[float, np.ndarray]:
    """A judge with n examples written straight through commit (no model calls)."""
    vectors = synthetic_vectors(n)
    store = open_store(path)
    row = store.create_judge(SPEC)
    start = time.perf_counter()
    for lo in range(0, n, 50_000):
        records = [record(i) for i in range(lo, min(n, lo + 50_000))]
        examples = [
            (
                Example(
                    record_id=r.id,
                    key_text=f"{r.inputs}\n{r.outputs}",
                    case_text=f"<case>{r.inputs} / {r.outputs}</case>",
                    label=r.label,
                    agree=bool(i % 5),
                ),
                vectors[lo + i],
            )
            for i, r in enumerate(records)
        ]
        store.commit(
            row.judge_id,
            ChangeSet(operation="bulk", upsert_records=records, upsert_examples=examples),
        )
    store.close()
    return time.perf_counter() - start, vectors


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def retrieval(judge: Judge, vectors: np.ndarray, queries: int = 500) -> dict[str, float]:
    rng = np.random.default_rng(1)
    index = judge.episodic
    picks = rng.integers(0, len(vectors), queries)
    noise = 0.3 * rng.standard_normal((queries, DIM)).astype(np.float32) / np.sqrt(DIM)
    qs = vectors[picks] + noise
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    search, full, recall = [], [], []
    assert index._index is not None
    for i, q in enumerate(qs):
        t = time.perf_counter()
        hits = index._index.search(q, 5)
        search.append(time.perf_counter() - t)
        t = time.perf_counter()
        index.retrieve(q, 5, prefer_disagreements=False)
        full.append(time.perf_counter() - t)
        if i < 200:
            exact = set((np.argpartition(-(vectors @ q), 5)[:5] + 1).tolist())  # keys from 1
            recall.append(len({k for k, _ in hits} & exact) / 5)
    return {
        "search_p50_ms": statistics.median(search) * 1e3,
        "search_p95_ms": percentile(search, 95) * 1e3,
        "retrieve_p50_ms": statistics.median(full) * 1e3,
        "retrieve_p95_ms": percentile(full, 95) * 1e3,
        "recall_at_5": float(np.mean(recall)),
        "approximate": float(index._index.approximate),
    }


def open_and_judge(path: Path) -> dict[str, float]:
    """In a fresh process: open the store, load the judge, judge one case."""
    out = subprocess.run(
        [sys.executable, __file__, "--open-and-judge", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _open_and_judge_here(path: Path) -> None:
    start = time.perf_counter()
    store = open_store(path)
    judge = Judge.load(store, "scale", llm=constant_llm(), embedder=TimedEmbedder())
    verdict = judge.judge(inputs="a new question", outputs="an answer")
    seconds = time.perf_counter() - start
    assert verdict.ok and len(verdict.example_ids) == 5, verdict
    print(json.dumps({"open_and_first_verdict_s": seconds, "open_process_peak_rss_mb": _peak_mb()}))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _peak_mb() -> float:
    """Peak RSS of this process image (VmHWM): unlike ru_maxrss, not inherited from the parent
    that forked it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_and_delete(judge: Judge, embedder: TimedEmbedder, start_id: int) -> dict[str, float]:
    batch = [record(i) for i in range(start_id, start_id + 1000)]
    embedder.seconds = 0.0
    t = time.perf_counter()
    report = judge.align(batch)
    total = time.perf_counter() - t
    judge.snapshot()  # the index catches up: part of the memory-side work
    add_total = time.perf_counter() - t
    assert report.records_added == 1000
    # No LLM call is made (no disagreement check, no guidelines, and calibration stops after
    # one record when the model returns no probabilities); the embedding is subtracted.
    add_memory = add_total - embedder.seconds
    t = time.perf_counter()
    forgot = judge.forget([r.id for r in batch])
    judge.snapshot()
    delete_total = time.perf_counter() - t
    assert len(forgot.records_removed) == 1000
    return {
        "add_1000_total_s": add_total,
        "add_1000_align_s": total,
        "add_1000_embedding_s": embedder.seconds,
        "add_1000_memory_side_s": add_memory,
        "delete_1000_s": delete_total,
    }


def verdict_overhead(judge: Judge, embedder: TimedEmbedder, n: int = 300) -> dict[str, float]:
    times, embeds = [], []
    for i in range(n):
        before = embedder.seconds
        t = time.perf_counter()
        verdict = judge.judge(inputs=f"fresh question {i}", outputs=f"fresh answer {i}")
        times.append(time.perf_counter() - t)
        embeds.append(embedder.seconds - before)
        assert verdict.ok
    without = [a - b for a, b in zip(times, embeds, strict=True)]
    return {
        "verdict_p50_ms": statistics.median(times) * 1e3,
        "verdict_p95_ms": percentile(times, 95) * 1e3,
        "verdict_without_embedding_p95_ms": percentile(without, 95) * 1e3,
    }


def distill_concurrency(records: int = 1000) -> list[dict[str, float]]:
    rows = []
    for workers in (1, 4, 8):
        from memalign.providers.client import ModelClient

        store = open_store(":memory:")
        spec = SPEC.with_memory(use_guidelines=True, distill_token_budget=1500)
        judge = Judge.create(
            store,
            spec,
            llm=constant_llm(),
            reflection_llm=ModelClient(constant_llm(sleep=1.0), max_concurrency=workers),
            embedder=TimedEmbedder(),
        )
        t = time.perf_counter()
        report = judge.align([record(i, feedback=True) for i in range(records)])
        rows.append(
            {
                "max_concurrency": workers,
                "reflection_calls": report.usage.llm_calls,
                "wall_s": time.perf_counter() - t,
            }
        )
    return rows


TARGETS = {
    100_000: {
        "retrieve_p95_ms": 2.0,
        "add_1000_memory_side_s": 2.0,
        "delete_1000_s": 2.0,
        "verdict_p95_ms": 5.0,
    },
    1_000_000: {"retrieve_p95_ms": 20.0, "open_and_first_verdict_s": 5.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/scale"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/memalign-scale"))
    parser.add_argument("--open-and-judge", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open_and_judge:
        _open_and_judge_here(args.open_and_judge)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": _cpu_name(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "sizes": {},
    }
    machine = results["machine"]
    print(
        f"machine: {machine['processor']}, {machine['cpus']} CPUs, {machine['platform']}, "
        f"Python {machine['python']}; vectors: SYNTHETIC, {DIM}-d",
        flush=True,
    )
    for n in [int(s) for s in args.sizes.split(",")]:
        path = args.work / f"scale-{n}.db"
        for leftover in args.work.glob(f"scale-{n}.db*"):
            if leftover.is_file():
                leftover.unlink()
            else:
                for f in leftover.iterdir():
                    f.unlink()
        print(f"\n== {n:,} examples ==", flush=True)
        write_s, vectors = build_store(path, n)
        store = open_store(path)
        embedder = TimedEmbedder()
        judge = Judge.load(store, "scale", llm=constant_llm(), embedder=embedder)
        t = time.perf_counter()
        judge.snapshot()
        judge.episodic.save()
        first_index_s = time.perf_counter() - t
        row: dict[str, float] = {"write_store_s": write_s, "first_index_build_s": first_index_s}
        row.update(retrieval(judge, vectors))
        del vectors
        row.update(open_and_judge(path))
        row.update(verdict_overhead(judge, embedder))
        row.update(add_and_delete(judge, embedder, start_id=n + 10))
        index_file = store.index_path(judge.judge_id)
        assert index_file is not None
        row["store_file_mb"] = (
            sum(p.stat().st_size for p in args.work.glob(f"scale-{n}.db*") if p.is_file()) / 2**20
        )
        row["index_file_mb"] = sum(p.stat().st_size for p in VectorIndex.files(index_file)) / 2**20
        store.close()
        results["sizes"][str(n)] = row
        for key, value in row.items():
            target = TARGETS.get(n, {}).get(key)
            ratio = f"   target {target:g}  ratio {value / target:.2f}" if target else ""
            print(f"{key:34s} {value:12.3f}{ratio}", flush=True)
    results["distillation_concurrency"] = distill_concurrency()
    print("\ndistillation of 1,000 records, fake reflection model sleeping 1 s per call:")
    for item in results["distillation_concurrency"]:
        print(
            f"  max_concurrency {item['max_concurrency']}: "
            f"{item['reflection_calls']:.0f} calls in {item['wall_s']:.1f} s"
        )
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (args.out / "scale.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
