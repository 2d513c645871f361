"""Rebuild the memory of a finished `memalign-bench curves` run (alignment only, no test verdict),
so that `decision_rules.py` can re-decide its stored verdicts on a fresh machine: run stores are
not kept in git. Same seed, records and settings as the run; llama.cpp's numerics depend on the
cached prompt prefix, so the rebuilt first-pass answers can differ a little from the original's.

    python benchmarks/scripts/rebuild_store.py code_review_python \
      --runs docs/benchmarks/local-1.5b/memory-acts-auto --out /tmp/rebuilt [--calibrate]
    python benchmarks/scripts/decision_rules.py --runs /tmp/rebuilt

``--calibrate`` aligns with ``MemoryConfig.calibrate=True``: the product's calibration pass
re-records each record's probabilities under the new memory (one more judge call per record).
``--batch N`` aligns the records N at a time, as the review page aligns each review when it is
submitted: each record's first-pass answer then comes from the judge aligned on the records
before it. ``--no-copy`` leaves the run's JSON behind, so that `memalign-bench curves` run on
``--out`` with the run's settings scores the rebuilt memory end to end (the records are
already in memory, so it aligns nothing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from memalign.judge import Judge
from memalign.models import build_models
from memalign.stores import open_store
from memalign_bench.curves import CurveConfig, shard_order, with_signal
from memalign_bench.datasets import DATASETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--batch", type=int, default=0, help="align N records at a time")
    parser.add_argument("--no-copy", action="store_true", help="do not copy the run's JSON")
    args = parser.parse_args()
    runs = [
        path
        for path in sorted(args.runs.glob(f"{args.dataset}__*.json"))
        if json.loads(path.read_text()).get("config", {}).get("dataset") == args.dataset
    ]
    if not runs:
        raise SystemExit(f"no {args.dataset} run in {args.runs}")
    results = json.loads(runs[0].read_text())
    config = CurveConfig(**{k: v for k, v in results["config"].items() if k != "extra"})
    seed, shard = config.seeds[0], max(config.shards)
    (args.out / "stores").mkdir(parents=True, exist_ok=True)
    if not args.no_copy:
        shutil.copy(runs[0], args.out / runs[0].name)
    db = args.out / "stores" / f"{config.run_name}__seed{seed}.db"
    if db.exists():
        raise SystemExit(f"{db} exists: remove it first")
    dataset = DATASETS[args.dataset]
    train, _ = dataset.load(args.data)
    spec = dataset.spec.with_memory(
        use_guidelines=config.memory != "episodic",
        use_examples=config.memory != "semantic",
        decision=config.decision,
        example_chars=config.example_chars,
        calibrate=args.calibrate,
    )
    store = open_store(db)
    models = build_models(config.model, reference_price=config.reference_price)
    judge = Judge.create(store, spec, **models.as_kwargs())
    started = time.perf_counter()
    records = [with_signal(r, config.signal) for r in shard_order(train, seed, config.shards)]
    records = records[:shard]
    size = args.batch or len(records)
    added = calls = 0
    for start in range(0, len(records), size):
        report = judge.align(records[start : start + size])
        added, calls = added + report.records_added, calls + report.usage.llm_calls
    seconds = time.perf_counter() - started
    print(f"{args.dataset}: {added} records, {calls} calls, {seconds:.0f} s -> {db}")
    store.close()


if __name__ == "__main__":
    main()
