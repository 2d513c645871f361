"""What the memory model's word features cost per memory version: `fit_embedding_model` with the
embedding alone and with the word features on offer, side by side on the same memory (median of
repeats), from 50 labelled examples up to the evidence window (2,000). No model call: the
examples are synthetic (384-d unit vectors as MiniLM stores them, key texts of 300 words drawn
from a 2,000-word vocabulary); only the time is measured.

    python benchmarks/scripts/memory_model_cost.py [--repeats 3] [--sizes 50 200 500 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from memalign.judge_spec import Labels
from memalign.judging.embedding_model import fit_embedding_model
from memalign.records import Example

OUTPUT = Labels(("pass", "fail"))


def _memory(n: int, seed: int = 0) -> tuple[list[Example], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(["pass", "fail"] * (n // 2))
    vectors = rng.normal(size=(n, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vocabulary = [f"w{i}" for i in range(2000)]
    examples = [
        Example(
            record_id=f"r{i}",
            key_text=" ".join(rng.choice(vocabulary, size=300))
            + (" except:" if label == "fail" else " except ValueError:"),
            case_text="",
            label=str(label),
        )
        for i, label in enumerate(labels)
    ]
    return examples, vectors.astype(np.float32)


def _median_seconds(
    examples: list[Example], matrix: np.ndarray, words: tuple[bool, ...], repeats: int
) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fit_embedding_model(OUTPUT, examples, matrix, words)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500, 2000])
    args = parser.parse_args()
    print("| examples | embedding alone (s) | words on offer (s) | ratio |")
    print("|---|---|---|---|")
    for n in args.sizes:
        examples, matrix = _memory(n)
        alone = _median_seconds(examples, matrix, (False,), args.repeats)
        both = _median_seconds(examples, matrix, (False, True), args.repeats)
        print(f"| {n} | {alone:.2f} | {both:.2f} | {both / alone:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
