"""Balanced accuracy, answer spread and AUC of the stored verdicts of learning-curve runs.

Reports written before balanced accuracy was part of them show exact match only, which
flatters a judge that gives one answer on a skewed test subset. A results file keeps every test
verdict's value and label probabilities, so both read-outs that need no fitted memory (the
judge's own value, and argmax of its probabilities) are re-scored here without a model call.
For two labels it also gives the AUC of P(first label): how well the probabilities rank the
cases whatever the cut, so memory that moves the model's probabilities without flipping its
most probable label still shows. Numeric scales are skipped (CCC has no constant-answer trap of
this kind).

  .venv/bin/python benchmarks/scripts/label_balance.py docs/benchmarks/local-1.5b/*.json \
      [--data DIR]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from memalign.evaluation.metrics import auc
from memalign.judge_spec import FloatScore, Scale
from memalign.judging.decision import first_label
from memalign_bench.curves import balanced_quality, quality
from memalign_bench.datasets import DATASETS


def _spread(values: list[object]) -> str:
    return ", ".join(f"{k} {n}" for k, n in Counter(map(str, values)).most_common())


def report(path: Path, data_dir: Path) -> list[str]:
    results = json.loads(path.read_text())
    config = results.get("config")
    if not isinstance(config, dict) or config.get("dataset") not in DATASETS:
        return []
    dataset = DATASETS[config["dataset"]]
    output = dataset.spec.output
    if isinstance(output, Scale | FloatScore):
        return []
    _, test = dataset.load(data_dir)
    labels = [r.label for r in (test[: config["test_limit"]] if config["test_limit"] else test)]
    lines = [f"{path.stem}: test labels {_spread(list(labels))}"]
    first = first_label(output)
    for key, step in results["steps"].items():
        if step.get("status") != "scored":
            continue
        verdicts = step["test_verdicts"]
        own = [v["value"] for v in verdicts]
        argmax = [max(v["p"], key=v["p"].get) if v["p"] else v["value"] for v in verdicts]
        lines.append(
            f"  seed:shard {key}  own value: exact {quality(output, labels, own):.2f} "
            f"balanced {balanced_quality(output, labels, own):.2f} ({_spread(own)})  "
            f"argmax: exact {quality(output, labels, argmax):.2f} "
            f"balanced {balanced_quality(output, labels, argmax):.2f} ({_spread(argmax)})"
        )
        positive = [label == first for label in labels]
        if first is not None and all(v["p"] for v in verdicts) and len(set(positive)) == 2:
            ranked = auc([v["p"].get(first, 0.0) for v in verdicts], positive)
            lines[-1] += f"  AUC of P({first}) {ranked:.3f}"
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args()
    for path in args.results:
        for line in report(path, args.data):
            print(line)


if __name__ == "__main__":
    main()
