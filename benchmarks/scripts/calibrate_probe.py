"""Does the opt-in `calibrate` pass repair an aligned judge whose threshold was fitted on
memory-free answers? (issue 22; design/decision.md, "What it cannot see")

Takes a store a `memalign-bench baselines` run aligned (labels only, one batch), copies it, and
scores the same unseen records three ways on the in-process model:

1. as aligned (the decision fitted on first-pass probabilities, as the run had it);
2. after the calibrate pass: every labelled record re-judged under the memory it built, each
   without its own example, and the decision fitted on those probabilities instead.

The calibrate pass is the one `MemoryConfig(calibrate=True)` runs inside `align`; it is called
here on the stored memory so the same memory is scored both ways (re-aligning would distil
again). One judge call per record, then one per unseen record for each scoring.

    python benchmarks/scripts/calibrate_probe.py financebench \\
      /tmp/sameday/financebench/stores/financebench__baselines__local_0.5b__seed0.db \\
      --model local:0.5b --test-limit 40 [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from memalign import Judge
from memalign.accounting import Meter
from memalign.alignment.align import _calibrate  # the pass calibrate=True runs in align
from memalign.evaluation.metrics import balanced_accuracy
from memalign.stores import open_store
from memalign_bench.datasets import DATASETS


def _score(judge: Judge, test: list[Any]) -> dict[str, Any]:
    started = time.perf_counter()
    verdicts = judge.judge_many([r.case for r in test], rationale=False)
    values = [str(v.value) if v.ok else None for v in verdicts]
    truth = [str(r.label) for r in test]
    return {
        "exact": sum(v == t for v, t in zip(values, truth, strict=True)) / len(test),
        "balanced": balanced_accuracy([v or "" for v in values], truth),
        "answers": {label: values.count(label) for label in sorted(set(truth))},
        "decision": next((v.decision for v in verdicts if v.decision), None),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("store", type=Path)
    parser.add_argument("--model", default="local:0.5b")
    parser.add_argument("--test-limit", type=int, default=40)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[3] / "shared" / "datasets"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    dataset = DATASETS[args.dataset]
    _, test = dataset.load(args.data)
    test = test[: args.test_limit]
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "probe.db"
        for suffix in ("", "-wal", "-shm"):  # the run's store as it was, left untouched
            source = Path(f"{args.store}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{copy}{suffix}")
        store = open_store(copy)
        judge = Judge.load(store, dataset.spec.name, model=args.model)
        result: dict[str, Any] = {"aligned": _score(judge, test)}
        print(json.dumps(result), flush=True)
        records = store.get_records(judge.judge_id)
        examples, vectors = store.examples(judge.judge_id)
        meter = Meter()
        started = time.perf_counter()
        _calibrate(judge.engine, records, list(zip(examples, vectors, strict=True)), meter)
        result["calibrate"] = {
            "records": len(records),
            "llm_calls": meter.snapshot().llm_calls,
            "seconds": round(time.perf_counter() - started, 1),
        }
        result["calibrated"] = _score(Judge.load(store, dataset.spec.name, model=args.model), test)
        store.close()
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
