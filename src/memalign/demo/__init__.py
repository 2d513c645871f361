"""The demo task shipped with memalign (SYNTHETIC, written for memalign; see
``scripts/make_demo_data.py``): a support team's house rules that a generic judge cannot know.

:func:`run_demo` judges the test cases unaligned, aligns on the feedback, judges again, and
returns every number it measured.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from memalign.errors import NotFoundError
from memalign.evaluation.agreement import agreement_report
from memalign.judge import Judge
from memalign.judge_spec import JudgeSpec, Labels, MemoryConfig
from memalign.records import AlignmentReport, Case, Feedback, Usage, Verdict
from memalign.stores import MemoryStore

SPEC = JudgeSpec(
    name="support_reply_demo",
    instructions=(
        "You review replies written by customer-support agents. Given the customer's "
        "{{ inputs }} and the agent's reply in {{ outputs }}, decide whether the reply is "
        "acceptable to send (Pass) or not (Fail)."
    ),
    output=Labels(("Pass", "Fail")),
    # The default local model writes better guidelines from small batches of feedback.
    memory=MemoryConfig(distill_token_budget=1200),
)

Progress = Callable[[str, int, int], None]


def load_items() -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath("support_policy.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def feedback_records() -> list[Feedback]:
    return [
        Feedback(
            id=i["id"],
            inputs=i["inputs"],
            outputs=i["outputs"],
            label=i["label"],
            feedback=i["feedback"],
            annotator=i["annotator"],
        )
        for i in load_items()
        if i["split"] == "train"
    ]


def test_cases() -> tuple[list[str], list[Case], list[str]]:
    items = [i for i in load_items() if i["split"] == "test"]
    return (
        [i["id"] for i in items],
        [Case(inputs=i["inputs"], outputs=i["outputs"]) for i in items],
        [i["label"] for i in items],
    )


@dataclass
class Phase:
    name: str
    metrics: dict[str, Any]
    usage: Usage


@dataclass
class DemoResult:
    before: Phase
    after: Phase
    alignment: AlignmentReport
    verdicts_after: list[Verdict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def phase(p: Phase) -> dict[str, Any]:
            return {"metrics": p.metrics, "usage": p.usage.model_dump()}

        return {
            "data": "SYNTHETIC demo task shipped with memalign (support-reply house rules)",
            "unaligned": phase(self.before),
            "alignment": self.alignment.model_dump(mode="json"),
            "aligned": phase(self.after),
        }


def _judge_all(
    judge: Judge,
    cases: list[Case],
    labels: list[str],
    name: str,
    progress: Progress | None,
    concurrency: int,
) -> tuple[Phase, list[Verdict]]:
    done = 0

    def tick(_index: int, _verdict: Verdict) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(name, done, len(cases))

    verdicts = judge.judge_many(cases, concurrency=concurrency, on_done=tick)
    usage = Usage()
    for verdict in verdicts:
        usage.add(verdict.usage)
    metrics = agreement_report(
        judge.spec.output, list(labels), [v.value if v.ok else None for v in verdicts]
    )
    if any(v.decision not in (None, "argmax") for v in verdicts):
        # Also report the plain argmax, so the fitted threshold's effect is visible.
        argmax = [
            max(v.probabilities, key=v.probabilities.__getitem__) if v.probabilities else None
            for v in verdicts
        ]
        plain = agreement_report(judge.spec.output, list(labels), argmax)
        metrics["argmax_accuracy"] = plain.get("accuracy")
        metrics["argmax_kappa"] = plain.get("kappa")
        metrics["decision"] = next(v.decision for v in verdicts if v.decision)
    return Phase(name, metrics, usage), verdicts


def run_demo(
    store: MemoryStore,
    models: dict[str, Any],
    *,
    progress: Progress | None = None,
    concurrency: int = 1,
    spec: JudgeSpec = SPEC,
) -> DemoResult:
    """Run the whole demo in ``store`` (a fresh judge each time)."""
    with contextlib.suppress(NotFoundError):
        store.delete_judge(spec.name)
    judge = Judge.create(store, spec, **models)
    _, cases, labels = test_cases()
    before, _ = _judge_all(judge, cases, labels, "judging unaligned", progress, concurrency)
    if progress:
        progress("aligning on expert feedback", 0, 1)
    report = judge.align(feedback_records())
    if progress:
        progress("aligning on expert feedback", 1, 1)
    after, verdicts = _judge_all(judge, cases, labels, "judging aligned", progress, concurrency)
    return DemoResult(before, after, report, verdicts)
