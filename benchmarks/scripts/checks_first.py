"""What judging by the checks first saves at alignment, and what it risks (design/checks.md,
"The checks judge first"). No model call.

``spared``: per task and seed, the records of the seed's first 50 (the curves' shard order)
that the checks mined from those 50 decide, so the disagreement pass asks the model about the
others only.

    python benchmarks/scripts/checks_first.py spared [--data ../shared/datasets]

``strip``: a copy of a finished `memalign-bench curves` run whose examples the store's active
checks decide carry the checks' verdict instead of their first-pass probabilities, as an
alignment now records them; `decision_rules.py` then re-decides the run's stored verdicts on the
copy, to set beside the original.

    python benchmarks/scripts/checks_first.py strip RUN_DIR OUT_DIR
    python benchmarks/scripts/decision_rules.py --runs OUT_DIR
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from memalign.alignment.learned_checks import decided, labelled_with_feedback, settled
from memalign.judge_spec import JudgeSpec, Labels
from memalign.stores import ChangeSet, open_store
from memalign_bench.curves import shard_order
from memalign_bench.datasets import DATASETS

TASKS = ("code_review_python", "marketing_email_compliance")


def spared(data: Path, seeds: int) -> None:
    print("| task | seed | records | judged by checks |")
    print("|---|---:|---:|---:|")
    for task in TASKS:
        train, _ = DATASETS[task].load(data)
        labels = tuple(sorted({str(r.label) for r in train}))
        spec = JudgeSpec(name="j", instructions="{{ outputs }}", output=Labels(labels))
        for seed in range(seeds):
            batch = shard_order(train, seed, [50])
            labelled, named = labelled_with_feedback(batch, spec)
            decided = settled(spec, [], labelled, batch, named, batch)
            wrong = sum(1 for r in batch if r.id in decided and decided[r.id] != r.label)
            print(
                f"| {task} | {seed} | {len(batch)} | {len(decided)} ({wrong} against the label) |"
            )


def strip(run: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(run, out)
    for db in sorted((out / "stores").glob("*.db")):
        store = open_store(db)
        try:
            for row in store.list_judges():
                examples, matrix = store.examples(row.judge_id)
                records = store.get_records(row.judge_id)
                by_checks = decided(row.spec, store.guidelines(row.judge_id), records)
                updates = []
                for example, vector in zip(examples, matrix, strict=True):
                    value = by_checks.get(example.record_id)
                    if value is None:
                        continue
                    change = {
                        "judge_probs": None,
                        "judge_value": value,
                        "agree": value == example.label,
                        "decided_by_checks": True,
                    }
                    updates.append((example.model_copy(update=change), [float(x) for x in vector]))
                store.commit(
                    row.judge_id,
                    ChangeSet(operation="calibrate", upsert_examples=updates, summary={}),
                )
                print(f"{db.name}: {len(updates)} of {len(examples)} examples judged by checks")
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("spared")
    one.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    one.add_argument("--seeds", type=int, default=3)
    two = sub.add_parser("strip")
    two.add_argument("run", type=Path)
    two.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "spared":
        spared(args.data, args.seeds)
    else:
        strip(args.run, args.out)


if __name__ == "__main__":
    main()
