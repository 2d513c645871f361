"""The raw reflection answers of one learning-curve alignment step, and what the guards made of
them: proposals, unreadable answers, guidelines kept and dropped (with the reason).

    .venv/bin/python benchmarks/scripts/reflection_answers.py code_review_python --signal feedback \
        --seed 0 --records 50 --model local --out docs/benchmarks/reflection

Replays the first alignment of `memalign-bench curves` for that seed and shard size (same record
order and learning signal) from an empty memory, distillation only: no judge calls, no store. Each
call gets a fresh random boundary, so answers differ from run to run; the file keeps what this
run saw.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import get_args

from memalign.accounting import Meter
from memalign.alignment.distill import DistillItem, distill
from memalign.models import get_provider
from memalign.providers import Completion, CompletionRequest, LLMProvider
from memalign.providers.client import ModelClient
from memalign_bench.curves import Signal, shard_order, with_signal
from memalign_bench.datasets import DATASETS
from memalign_bench.provenance import environment


class Recorder:
    """Passes calls through to ``inner`` and keeps each answer with its wall time."""

    def __init__(self, inner: LLMProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.answers: list[dict[str, object]] = []

    def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        completion = self.inner.complete(request)
        self.answers.append(
            {"seconds": round(time.perf_counter() - started, 1), "text": completion.text}
        )
        print(f"call {len(self.answers)}: {self.answers[-1]['seconds']} s", flush=True)
        return completion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--signal", choices=get_args(Signal), default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--model", default="local")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/reflection"))
    args = parser.parse_args()
    dataset = DATASETS[args.dataset]
    train, _ = dataset.load(args.data)
    batch = [with_signal(r, args.signal) for r in shard_order(train, args.seed, [args.records])]
    recorder = Recorder(get_provider(args.model))
    result = distill(
        ModelClient(recorder, max_concurrency=1),
        dataset.spec,
        [DistillItem(r) for r in batch],
        [],
        Meter(),
    )
    report = {
        "dataset": args.dataset,
        "signal": args.signal,
        "seed": args.seed,
        "records": len(batch),
        "environment": environment(args.model, ("llama-cpp-python",)),
        "proposed": result.proposed,
        "unreadable": result.unreadable,
        "kept": [{"text": c.text, "sources": list(c.sources)} for c in result.candidates],
        "dropped": [{"text": d.text, "reason": d.reason} for d in result.dropped],
        "answers": recorder.answers,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{args.dataset}__{args.model.replace(':', '_')}__signal-{args.signal}"
    path = args.out / f"{name}__seed{args.seed}__{args.records}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    summary = {k: report[k] for k in ("proposed", "unreadable", "kept", "dropped")}
    print(json.dumps(summary, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
