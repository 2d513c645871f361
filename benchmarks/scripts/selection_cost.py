"""What decision="auto" costs per memory version: `choose_decision` timed at 5 and 10 folds side
by side on the same memory (median of repeats), for 50 and 200 labelled examples (the selection
window) with 384-d vectors as MiniLM stores them. No model call: the model's recorded answers
are synthetic here, and only the time is measured.

    python benchmarks/scripts/selection_cost.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from memalign.judge_spec import Labels
from memalign.judging import selection
from memalign.records import Example

OUTPUT = Labels(("pass", "fail"))


def _memory(n: int, seed: int = 0) -> tuple[list[Example], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(["pass", "fail"] * (n // 2))
    direction = rng.normal(size=384)
    vectors = rng.normal(size=(n, 384)) + np.outer(np.where(labels == "pass", 0.3, -0.3), direction)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    examples = []
    for i, label in enumerate(labels):
        p = float(
            np.clip(0.5 + (0.2 if label == "pass" else -0.2) + rng.normal(0, 0.25), 0.01, 0.99)
        )
        examples.append(Example(record_id=f"r{i}", key_text="", case_text="", label=str(label),
                                judge_probs={"pass": p, "fail": 1 - p},
                                created_at=start + timedelta(seconds=i)))  # fmt: skip
    return examples, vectors.astype(np.float32)


def _median_seconds(folds: int, examples: list[Example], matrix: np.ndarray, repeats: int) -> float:
    selection.FOLDS = folds
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        selection.choose_decision(OUTPUT, examples, matrix)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print("| examples | 5 folds (s) | 10 folds (s) | ratio |")
    print("|---|---|---|---|")
    for n in (50, 200):
        examples, matrix = _memory(n)
        five = _median_seconds(5, examples, matrix, args.repeats)
        ten = _median_seconds(10, examples, matrix, args.repeats)
        print(f"| {n} | {five:.3f} | {ten:.3f} | {ten / five:.1f}x |")


if __name__ == "__main__":
    main()
