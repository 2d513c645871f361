"""What checks proposed by the reflection call add to the checks mined from the experts' words
(issue 22), on the SYNTHETIC policy_dev tasks: the product's own distillation (reflection only,
no judge call) over the same 50 feedback records as docs/benchmarks/local-1.5b (seed 0), each
proposal adopted on those records as alignment does, and every check counted on the first 100
unseen test records: how many it fires on, how many of those it gets right, and how many test
records the proposed checks decide that the mined ones do not.

    python benchmarks/scripts/proposed_checks.py --model local [--data ../shared/datasets] \
      [--out docs/benchmarks/memory-signals/proposed_checks.json] [--no-propose] [TASK ...]

``--no-propose`` runs the same reflection without asking for checks: its cost and guidelines
side by side (the same served model and records).

Reflection calls only: a few minutes per task on the local 1.5B (2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from memalign.accounting import Meter
from memalign.alignment.distill import DistillItem, distill
from memalign.alignment.learned_checks import labelled_cases
from memalign.checks import adopt, explain, mine_checks
from memalign.judge_spec import Pairwise
from memalign.judging.decision import checks_fired, decided_by_checks
from memalign.models import build_models
from memalign.records import Check, Feedback, Guideline
from memalign_bench.curves import shard_order
from memalign_bench.datasets import DATASETS

TASKS = ["code_review_python", "marketing_email_compliance", "pairwise_summary_preference"]


def _decided(checks: list[Check], test: list[Feedback], pairwise: bool) -> dict[str, Any]:
    guidelines = [Guideline(id=f"g{i}", text="", check=c) for i, c in enumerate(checks)]
    output = Pairwise() if pairwise else None
    right = decided = 0
    ids = set()
    for record in test:
        value = decided_by_checks(checks_fired(guidelines, record.case, output), output)
        if value is not None:
            decided += 1
            right += value == str(record.label)
            ids.add(record.id)
    return {"decided": decided, "right": right, "ids": ids}


def run_task(name: str, data: Path, model: str, propose: bool = True) -> dict[str, Any]:
    dataset = DATASETS[name]
    spec = dataset.spec
    spec = replace(spec, memory=replace(spec.memory, propose_checks=propose))
    train, test = dataset.load(data)
    train, test = shard_order(train, 0, [50]), test[:100]
    models = build_models(model, timeout=900)
    meter = Meter()
    started = time.perf_counter()
    distilled = distill(models.reflection_llm, spec, [DistillItem(r) for r in train], [], meter)
    seconds = time.perf_counter() - started
    labelled = labelled_cases(train, spec)
    bound = spec.memory.check_min_bound
    mined = mine_checks([r.feedback or "" for r in train], labelled, bound)
    rows, adopted = [], []
    for candidate in distilled.candidates:
        if candidate.check is None:
            rows.append({"guideline": candidate.text, "proposed": None})
            continue
        check = adopt(candidate.check, labelled, bound)
        broken = "found" if candidate.check.present else "missing"
        row: dict[str, Any] = {
            "guideline": candidate.text,
            "proposed": f"/{candidate.check.term}/ {broken} in {candidate.check.part}",
            "adopted": explain(check) if check else "refuted (or fires on no record)",
        }
        if check is not None and check.active:
            adopted.append(check)
        rows.append(row)
    pairwise = isinstance(spec.output, Pairwise)
    mined_only = _decided(mined, test, pairwise)
    both = _decided([*mined, *adopted], test, pairwise)
    return {
        "task": name,
        "reflection": {
            "calls": meter.snapshot().llm_calls,
            "completion_tokens": meter.snapshot().completion_tokens,
            "seconds": round(seconds, 1),
            "guidelines": len(distilled.candidates),
            "proposed": distilled.proposed,
            "dropped": len(distilled.dropped),
        },
        "proposals": rows,
        "active_adopted": len(adopted),
        "mined_active": len(mined),
        "test_decided_mined": {k: v for k, v in mined_only.items() if k != "ids"},
        "test_decided_mined_and_proposed": {k: v for k, v in both.items() if k != "ids"},
        "decided_only_with_proposed": len(both["ids"] - mined_only["ids"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=TASKS)
    parser.add_argument("--model", default="local")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--no-propose", action="store_true", help="the same reflection without check proposals"
    )
    args = parser.parse_args()
    results = {
        "data": "SYNTHETIC policy_dev tasks; seed 0, 50 feedback records, first 100 test records",
        "model": args.model,
        "propose_checks": not args.no_propose,
        "tasks": [run_task(t, args.data, args.model, not args.no_propose) for t in args.tasks],
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
