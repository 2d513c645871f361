"""Distillation of N feedback records in one align on a local model: reflection calls, tokens,
wall time and the guidelines kept.

    .venv/bin/python benchmarks/scripts/distill_local.py --records 200 --model local:0.5b \
        --data ../shared/datasets --out docs/benchmarks/scale

Records are the policy_dev training and test records that carry expert feedback (SYNTHETIC
data), across the two binary tasks, for one binary judge of "does this follow house policy". The
disagreement check is off so that only distillation (and consolidation) calls are counted; the
local provider runs one call at a time, so the concurrency limit does not apply here.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from memalign import Feedback, Judge, JudgeSpec, Labels, open_store
from memalign.models import build_models
from memalign_bench.datasets import DATASETS

TASKS = ("code_review_python", "marketing_email_compliance")


def records(data: Path, n: int) -> list[Feedback]:
    pool: list[Feedback] = []
    for task in TASKS:
        train, test = DATASETS[task].load(data)
        pool += [
            r.model_copy(
                update={"id": f"{task}:{r.id}", "label": "Pass" if r.label == "pass" else "Fail"}
            )
            for r in [*train, *test]
            if r.feedback
        ]
    # Interleave the tasks so any prefix covers all of them.
    by_task = [[r for r in pool if r.id.startswith(t)] for t in TASKS]
    mixed = [r for group in zip(*by_task, strict=False) for r in group]
    return mixed[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--model", default="local")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/scale"))
    args = parser.parse_args()
    batch = records(args.data, args.records)
    spec = JudgeSpec(
        name="house_policy",
        instructions="Does the output in {{ outputs }} follow the house policy for {{ inputs }}?",
        output=Labels(("Pass", "Fail")),
    ).with_memory(detect_disagreements=False)
    judge = Judge.create(open_store(":memory:"), spec, **build_models(args.model).as_kwargs())
    started = time.perf_counter()
    report = judge.align(batch)
    seconds = time.perf_counter() - started
    result = {
        "model": args.model,
        "records": len(batch),
        "reflection_calls": report.usage.llm_calls,
        "prompt_tokens": report.usage.prompt_tokens,
        "completion_tokens": report.usage.completion_tokens,
        "embedded_texts": report.usage.embedded_texts,
        "wall_s": seconds,
        "guidelines": [g.text for g in judge.guidelines()],
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.model.replace(":", "_").replace("/", "_")
    (args.out / f"distill_{args.records}_{name}.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "guidelines"}, indent=1))
    print(f"{len(result['guidelines'])} guidelines")


if __name__ == "__main__":
    main()
