"""What pooled terms and clauses by an input's value add to the check mining of one alignment
(design/checks.md), side by side with mining without them, on the same records. No model call.

For N records of a policy_dev task (train first, then test: the test records' feedback stands in
for more feedback, for timing only), one alignment's mining as `learned_checks.mined` runs it:
the last half of the records as the batch, all N as the labelled memory. Medians of --repeat.

    python benchmarks/scripts/mining_cost.py [--data ../shared/datasets] [--task TASK]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from memalign.alignment.learned_checks import labelled_cases, labelled_with_feedback
from memalign.checks import candidate_terms, mine_checks
from memalign.judge_spec import JudgeSpec, Labels
from memalign.records import Feedback


def _records(data: Path, task: str) -> list[Feedback]:
    rows = [json.loads(line) for line in (data / "policy_dev" / f"{task}.jsonl").open()]
    rows.sort(key=lambda row: row["split"] != "train")
    return [
        Feedback(id=row["id"], inputs=row["inputs"], outputs=row["outputs"],
                 label=str(row["label"]), feedback=row["feedback"])
        for row in rows
    ]  # fmt: skip


def _seconds(records: list[Feedback], spec: JudgeSpec, pooled: bool, repeat: int) -> float:
    batch = records[len(records) // 2 :]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        labelled, named = labelled_with_feedback(records, spec)
        feedback = [r.feedback for r in batch if r.feedback]
        terms = set().union(*(candidate_terms(text) for text in feedback))
        mine_checks(
            feedback,
            labelled,
            0.75,
            terms=terms,
            named=named if pooled else None,
            fresh=labelled_cases(batch, spec) if pooled else (),
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    parser.add_argument("--task", default="marketing_email_compliance")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = JudgeSpec(name="j", instructions="{{ outputs }}", output=Labels(("pass", "fail")))
    records = _records(args.data, args.task)
    print(f"{args.task}: one alignment's check mining, median of {args.repeat} (seconds)")
    print("| records | without pooling | with pooled terms and clauses | ratio |")
    print("|---|---|---|---|")
    for n in (50, 200):
        before = _seconds(records[:n], spec, False, args.repeat)
        after = _seconds(records[:n], spec, True, args.repeat)
        print(f"| {n} | {before:.3f} | {after:.3f} | {after / before:.2f}× |")


if __name__ == "__main__":
    main()
