"""What decision="auto" costs per memory version: `choose_decision` timed side by side on the same
memory (median of repeats), for 50 and 200 labelled examples (the selection window) with 384-d
vectors as MiniLM stores them and key texts of 300 words, so the word features are on offer:

- "per fold": the embedding model's features (embedding alone, or with words) chosen again
  inside each of the ten folds, as before the choice was carried;
- "carried": chosen once on the whole memory and kept in the folds (the product);
- "two fits": carried, with the checks settling a quarter of the examples, so the rules are
  cross-validated twice (fitted on every example, and on those the checks leave).

No model call: the model's recorded answers are synthetic here, and only the time is measured.

    python benchmarks/scripts/selection_cost.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from memalign.judge_spec import Labels, Value
from memalign.judging import selection
from memalign.records import Example

OUTPUT = Labels(("pass", "fail"))


def _memory(n: int, seed: int = 0) -> tuple[list[Example], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(["pass", "fail"] * (n // 2))
    direction = rng.normal(size=384)
    vectors = rng.normal(size=(n, 384)) + np.outer(np.where(labels == "pass", 0.3, -0.3), direction)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vocabulary = [f"w{i}" for i in range(2000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    examples = []
    for i, label in enumerate(labels):
        p = float(
            np.clip(0.5 + (0.2 if label == "pass" else -0.2) + rng.normal(0, 0.25), 0.01, 0.99)
        )
        text = " ".join(rng.choice(vocabulary, size=300))
        examples.append(Example(record_id=f"r{i}", key_text=text, case_text="", label=str(label),
                                judge_probs={"pass": p, "fail": 1 - p},
                                created_at=start + timedelta(seconds=i)))  # fmt: skip
    return examples, vectors.astype(np.float32)


def _median_seconds(
    examples: list[Example],
    matrix: np.ndarray,
    settled: Sequence[Value | None] | None,
    repeats: int,
) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        selection.choose_decision(OUTPUT, examples, matrix, settled)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    carried = selection._feature_choice
    print("| examples | per fold (s) | carried (s) | two fits (s) | per fold / carried |")
    print("|---|---|---|---|---|")
    for n in (50, 200):
        examples, matrix = _memory(n)
        settled: list[Value | None] = [
            e.label if e.label == "fail" and i % 2 else None for i, e in enumerate(examples)
        ]
        selection._feature_choice = lambda *_: (False, True)  # type: ignore[assignment]
        per_fold = _median_seconds(examples, matrix, None, args.repeats)
        selection._feature_choice = carried  # type: ignore[assignment]
        once = _median_seconds(examples, matrix, None, args.repeats)
        twice = _median_seconds(examples, matrix, settled, args.repeats)
        print(
            f"| {n} | {per_fold:.2f} | {once:.2f} | {twice:.2f} | {per_fold / once:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
