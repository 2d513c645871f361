"""Would a bounded re-score fix the threshold the aligned judge is read with? (issue 22)

No model call. The model's rule reads P(first label) against a threshold fitted on the
*first-pass* probabilities, given before the records were in memory; the aligned judge answers
with memory in its prompt, and its probabilities move (design/decision.md, "What it cannot
see"). A bounded re-score would judge N memory records again under the new memory and shift
the threshold by how much their log-odds moved. This script simulates that on stored verdicts:
a curves run that kept each test case's verdict with no memory (shard 0) and after alignment
(the largest shard) holds both answers for the same cases.

Per random split of the unseen cases in halves: half A stands in for the memory (its
memory-free probabilities are the first-pass evidence, its labels the experts'); half B is
scored. Rules, each applied to B's aligned probabilities:

- first-pass: the threshold fitted on A's memory-free probabilities (today's `llm` rule);
- shift N: that threshold moved by the median change of log-odds over N records of A (the
  bounded re-score, N judge calls);
- refit: the threshold fitted on all of A's aligned probabilities (the opt-in `calibrate`
  pass, one call per record);
- argmax: no threshold.

    python benchmarks/scripts/threshold_shift.py docs/benchmarks/local-1.5b/*.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from pathlib import Path

from memalign.evaluation.metrics import balanced_accuracy
from memalign.judge_spec import Labels, Value
from memalign.judging.decision import Threshold, fit_threshold, normalise, value_from_probs
from memalign_bench.datasets import DATASETS

SAMPLES = (5, 10, 20)
SPLITS = 300


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _shifted(threshold: Threshold, delta: float) -> Threshold:
    return Threshold(1 / (1 + math.exp(-(_logit(threshold.value) + delta))), threshold.support)


def simulate(run: Path, data: Path) -> list[str] | None:
    results = json.loads(run.read_text())
    config = results["config"]
    dataset = DATASETS[config["dataset"]]
    output = dataset.spec.output
    if not isinstance(output, Labels) or len(output.labels) != 2:
        return None
    steps = results["steps"]
    seed = config["seeds"][0]
    shard = max(config["shards"])
    before = steps.get(f"{seed}:0", {}).get("test_verdicts")
    after = steps.get(f"{seed}:{shard}", {}).get("test_verdicts")
    if not before or not after:
        return None
    _, test = dataset.load(data)
    test = test[: len(after)]
    first = output.labels[0]

    def _first(probs: dict[str, float]) -> float:
        return normalise(probs, output.choices)[first]

    rows: list[tuple[dict[str, float], dict[str, float], Value]] = [
        (b["p"], a["p"], record.label)
        for b, a, record in zip(before, after, test, strict=True)
        if b.get("p") and a.get("p") and record.label is not None
    ]
    rng = random.Random(0)
    scores: dict[str, list[float]] = {}
    moved: list[float] = []
    for _ in range(SPLITS):
        order = rows[:]
        rng.shuffle(order)
        half = len(order) // 2
        memory, unseen = order[:half], order[half:]
        truth = [label for _, _, label in unseen]
        fitted = fit_threshold(output, [(p0, label) for p0, _, label in memory])
        refit = fit_threshold(output, [(p1, label) for _, p1, label in memory])
        if fitted is None or refit is None:
            continue
        deltas = [_logit(_first(p1)) - _logit(_first(p0)) for p0, p1, _ in memory]
        moved.append(statistics.median(deltas))
        rules: dict[str, Threshold | None] = {"argmax": None, "first-pass": fitted}
        for n in (n for n in SAMPLES if n <= len(deltas)):
            rules[f"shift {n}"] = _shifted(fitted, statistics.median(rng.sample(deltas, n)))
        rules["refit (calibrate)"] = refit
        for name, threshold in rules.items():
            predicted = [str(value_from_probs(output, p1, threshold)) for _, p1, _ in unseen]
            scores.setdefault(name, []).append(balanced_accuracy(predicted, truth))
    if not scores:
        return None
    lines = [
        f"### {dataset.name} ({len(rows)} unseen cases, {SPLITS} splits in halves; "
        f"median log-odds move of P({first}) under memory: {statistics.median(moved):+.2f})",
        "",
        "| threshold | calls | balanced accuracy, mean | 10th–90th percentile |",
        "|---|---:|---:|---|",
    ]
    calls = {"argmax": 0, "first-pass": 0, "refit (calibrate)": len(rows) // 2}
    for name, values in scores.items():
        if len(values) < 2:
            continue
        cuts = statistics.quantiles(values, n=10)
        cost = calls.get(name, int(name.split()[-1]) if name.startswith("shift") else 0)
        lines.append(
            f"| {name} | {cost} | {statistics.fmean(values):.3f} | {cuts[0]:.2f}–{cuts[-1]:.2f} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[3] / "shared" / "datasets"
    )
    args = parser.parse_args()
    for run in args.runs:
        lines = simulate(run, args.data)
        if lines:
            print("\n".join(lines))


if __name__ == "__main__":
    main()
