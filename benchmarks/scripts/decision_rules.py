"""The decision rules of design/decision.md side by side on the same stored verdicts (issue 22).

No judge call: for each finished `memalign-bench curves` run in --runs (its first seed, its
largest shard), the judge's memory is read from the run's store and its stored test verdicts are
re-decided by each rule — the model's fitted threshold ("llm"), the embedding model, both summed
("combined"), the retrieved examples' vote and what "auto" chose — with the store's active checks
deciding first, as in the product (so a store rebuilt with other checks than the run had is
scored with its own). The test cases are embedded again with the run's embedder (local
MiniLM). Quality on all, familiar and novel phrasing (`meta.phrasing`).

    python benchmarks/scripts/decision_rules.py --runs docs/benchmarks/local-1.5b/memory-acts-auto \
      [--data ../shared/datasets] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from memalign.embedders import EmbeddingClient
from memalign.evaluation.metrics import accuracy, balanced_accuracy, ccc
from memalign.judge_spec import Labels, Pairwise, Scale, Value
from memalign.judging import fit_decision
from memalign.judging.decision import (
    active_checks,
    checks_fired,
    decided_by_checks,
    value_from_probs,
    vote_value,
)
from memalign.judging.embedding_model import combined_value
from memalign.judging.pairwise_model import combined_pick, response_texts
from memalign.models import get_embedder
from memalign.prompts.rendering import example_key
from memalign.stores import open_store
from memalign_bench.curves import CurveConfig
from memalign_bench.datasets import DATASETS

RULES = ("argmax", "llm", "embedding", "combined", "vote", "auto")


def _phrasing(data: Path, file: str) -> dict[str, str]:
    rows = (json.loads(line) for line in (data / file).read_text("utf-8").splitlines() if line)
    return {row["id"]: (row.get("meta") or {}).get("phrasing", "n/a") for row in rows}


def _cells(output: Any, predicted: list[Any], truth: list[Any], phrasing: list[str]) -> list[str]:
    cells = []
    for group in ("all", "familiar", "novel"):
        keep = [
            i
            for i, p in enumerate(phrasing)
            if (group == "all" or p == group) and predicted[i] is not None
        ]
        if len(keep) < 5:
            cells.append("–")
            continue
        if isinstance(output, Scale):
            value = ccc([float(predicted[i]) for i in keep], [float(truth[i]) for i in keep])
        else:
            norm = {label.lower(): label for label in output.choices}
            # Pairwise: accuracy, the benchmark's pairwise metric; labels: balanced accuracy.
            score = accuracy if isinstance(output, Pairwise) else balanced_accuracy
            value = score(
                [norm.get(str(predicted[i]).lower(), str(predicted[i])) for i in keep],
                [norm.get(str(truth[i]).lower(), str(truth[i])) for i in keep],
            )
        cells.append(f"{value:.2f}")
    return cells


def _metric(output: Any) -> str:
    if isinstance(output, Scale):
        return "CCC"
    return "pairwise accuracy" if isinstance(output, Pairwise) else "balanced accuracy"


def rescore(run: Path, data: Path, embed: Any) -> list[str]:
    results = json.loads(run.read_text())
    config = CurveConfig(**{k: v for k, v in results["config"].items() if k != "extra"})
    shard = max(config.shards)
    seed = config.seeds[0]  # the run's first seed (runs here have one)
    step = results["steps"][f"{seed}:{shard}"]
    dataset = DATASETS[config.dataset]
    spec = dataset.spec
    output = spec.output
    _, test = dataset.load(data)
    test = test[: config.test_limit] if config.test_limit else test
    store = open_store(run.parent / "stores" / f"{config.run_name}__seed{seed}.db", create=False)
    row = store.get_judge(spec.name)
    # What the product fits for this memory, with every rule's model fitted for comparison.
    fitted = fit_decision(spec, store, row.judge_id, embed)
    threshold, choice = fitted.threshold, fitted.choice
    # The threshold is auto's: where auto fitted the rules on the examples the checks leave,
    # the llm, vote (on a tie) and combined rows use that fit, not a pinned rule's.
    # The embedding model as the product fits it: auto's own where it chose a rule that uses it
    # (fitted where auto's folds said: on every example or on those the checks leave), else
    # the model a pinned "embedding" rule fits (on every example).
    model: Any = fitted.pairwise_model or fitted.embedding_model
    if model is None:
        pinned = fit_decision(spec.with_memory(decision="embedding"), store, row.judge_id, embed)
        model = pinned.pairwise_model or pinned.embedding_model
    if isinstance(output, Pairwise):
        pairs = [response_texts(r.case) or ("", "") for r in test]
        a = np.asarray(embed([p[0] for p in pairs]), dtype=np.float32)
        b = np.asarray(embed([p[1] for p in pairs]), dtype=np.float32)
        vectors = a - b
        texts = [""] * len(test)  # the pairwise model reads the difference of embeddings only
    else:
        texts = [example_key(r.case, spec) for r in test]
        vectors = np.asarray(embed(texts), dtype=np.float32)

    def memory_model(vector: Any, text: str) -> Value | None:
        if model is None:
            return None
        predicted: Value = (
            model.predict(vector) if isinstance(output, Pairwise) else model.predict(vector, text)
        )
        return predicted

    by_rule: dict[str, list[Value | None]] = {rule: [] for rule in RULES}
    decided = 0
    # A run stopped after alignment has no stored verdicts: only the rules that need no model
    # output (the embedding model, and auto where it chose it) can be scored.
    stored = step.get("test_verdicts")
    verdicts = stored if stored else [{"unjudged": True}] * len(test)
    checks = active_checks(g for g, _ in store.guidelines(row.judge_id))
    for verdict, vector, text, record in zip(verdicts, vectors, texts, test, strict=True):
        probs = verdict.get("p")
        # As judging would: the store's active checks first (they may have changed since the
        # run: a check added or mined on the stored memory decides stored verdicts too).
        settled = decided_by_checks(checks_fired(checks, record.case, output), output)
        decided += settled is not None
        if settled is not None and not verdict.get("unjudged"):
            for rule in RULES:
                by_rule[rule].append(settled)
            continue
        if verdict.get("unjudged"):
            # then the embedding model.
            embedded = settled or memory_model(vector, text)
            for rule in RULES:
                by_rule[rule].append(embedded if rule == "embedding" else None)
            if choice is not None and choice.rule == "embedding":
                by_rule["auto"][-1] = embedded
            continue
        if not probs:  # an error, or decided by a check since refuted: every rule keeps it
            for rule in RULES:
                by_rule[rule].append(verdict.get("value"))
            continue
        values: dict[str, Value | None] = {
            "argmax": value_from_probs(output, probs),
            "llm": value_from_probs(output, probs, threshold),
            "embedding": memory_model(vector, text),
            "combined": None,
            "vote": None,
        }
        by_vote = vote_value(output, verdict.get("vote"))
        values["vote"] = by_vote[0] if by_vote else values["llm"]
        if model and isinstance(output, Pairwise):
            values["combined"] = combined_pick(model, vector, probs)
        elif model and isinstance(output, Labels) and len(output.labels) == 2:
            values["combined"] = combined_value(output, model, vector, text, probs, threshold)
        values["auto"] = values[choice.rule if choice else "llm"]
        for rule in RULES:
            by_rule[rule].append(values[rule])
    by_id = _phrasing(data, dataset.file)
    phrasing = [by_id.get(r.id, "n/a") for r in test]
    truth = [r.label for r in test]
    lines = [
        f"### {config.dataset} ({_metric(output)}; "
        f"{shard} records, {len(test)} unseen: {phrasing.count('familiar')} familiar, "
        f"{phrasing.count('novel')} novel; {decided} decided by checks)",
        "",
        f"auto: {choice.describe() if choice else 'too little memory: llm'}",
        "",
        "| rule (checks first) | all | familiar | novel |",
        "|---|---|---|---|",
    ]
    for rule in RULES:
        cells = _cells(output, by_rule[rule], truth, phrasing)
        lines.append(f"| {rule} | {' | '.join(cells)} |")
    store.close()
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[3] / "shared" / "datasets"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    embedder = EmbeddingClient(get_embedder("local"))  # normalised, as the judge embeds
    lines: list[str] = []
    for run in sorted(args.runs.glob("*.json")):
        if "steps" in json.loads(run.read_text()):
            lines += rescore(run, args.data, embedder.embed)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
