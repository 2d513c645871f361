"""Re-score the last shard of a learning-curve run with the current decision rules.

A results file keeps every test verdict's probabilities and example vote, and the run's store
keeps the memory after the last shard; the rules read only those, so they can be re-fitted and
re-scored without a model call (after a rule changes, say). Earlier shards' memory is no longer
in the store, so only the last shard is re-scored. Prints the stored and the re-scored quality
per rule, side by side.

  .venv/bin/python benchmarks/scripts/rescore_rules.py docs/benchmarks/local-1.5b/RUN.json [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from memalign.judge import Judge
from memalign.records import Verdict
from memalign.stores import open_store
from memalign.testing import FakeLLM, HashEmbedder
from memalign_bench.curves import CurveConfig, quality
from memalign_bench.datasets import DATASETS
from memalign_bench.decisions import rules_for, values_by_rule


def rescore(path: Path, data_dir: Path) -> dict[str, Any]:
    results = json.loads(path.read_text())
    config = results["config"]
    dataset = DATASETS[config["dataset"]]
    _, test = dataset.load(data_dir)
    test = test[: config["test_limit"]] if config["test_limit"] else test
    seed, shard = config["seeds"][-1], max(config["shards"])
    step = results["steps"][f"{seed}:{shard}"]
    run_name = CurveConfig(
        **{**config, "shards": tuple(config["shards"]), "seeds": tuple(config["seeds"])}
    ).run_name
    store = open_store(path.parent / "stores" / f"{run_name}__seed{seed}.db")
    try:
        # Neither model is called: the rules read stored probabilities, votes and vectors.
        judge = Judge.load(store, dataset.spec.name, llm=FakeLLM(), embedder=HashEmbedder())
        verdicts = [
            Verdict(
                judge=dataset.spec.name,
                value=v["value"],
                probabilities=v["p"],
                vote=v["vote"],
                error=None if v["value"] is not None else "no value",
            )
            for v in step["test_verdicts"]
        ]
        values = values_by_rule(rules_for(judge), verdicts)
    finally:
        store.close()
    labels = [r.label for r in test]
    return {
        "run": path.stem,
        "shard": shard,
        "stored": step["unseen_by_rule"],
        "rescored": {
            rule: quality(dataset.spec.output, labels, got) for rule, got in values.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = rescore(args.results, args.data)
    if args.json:
        print(json.dumps(out))
        return

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    print(f"{out['run']}, shard {out['shard']}: rule, stored, re-scored")
    for rule, value in out["rescored"].items():
        print(f"  {rule:<11} {fmt(out['stored'].get(rule)):>7} {fmt(value):>7}")


if __name__ == "__main__":
    main()
