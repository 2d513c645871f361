"""Learning curves (the published Fig. 4) with alignment cost per shard (Fig. 1 and 3).

An unaligned judge is fed the training records in cumulative shards (0, 2, 5, 10, 20, 50),
aligning incrementally after each; after each shard it is scored on the records seen so far and
on the test split. Results are checkpointed after every step, and each seed's memory lives in
its own store, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from memalign.errors import NotFoundError
from memalign.evaluation.metrics import balanced_accuracy, ccc
from memalign.judge import Judge
from memalign.judge_spec import FloatScore, OutputType, Pairwise, Scale, Value
from memalign.judging.decision import first_label
from memalign.records import Feedback, Usage, Verdict
from memalign.stores import open_store
from memalign_bench.datasets import DATASETS, BenchDataset
from memalign_bench.decisions import rules_for, values_by_rule
from memalign_bench.guideline_checks import score_checks
from memalign_bench.provenance import environment

Signal = Literal["both", "label", "feedback"]
Decision = Literal["auto", "llm", "blend", "embedding", "combined", "vote"]
MemoryMode = Literal["both", "semantic", "episodic"]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CurveConfig:
    dataset: str
    model: str
    shards: tuple[int, ...] = (0, 2, 5, 10, 20, 50)
    seeds: tuple[int, ...] = (0, 1, 2)
    test_limit: int | None = None
    # Seen quality on at most this many of the records seen (the first ones of the shard order).
    seen_limit: int | None = None
    # Characters of each retrieved example shown to the judge (MemoryConfig.example_chars).
    example_chars: int | None = None
    signal: Signal = "both"
    memory: MemoryMode = "both"
    # The product default is "auto"; runs before it named no rule and used "llm".
    decision: Decision = "auto"
    # Also score the ``checks`` rule: each guideline asked as its own yes/no call (binary labels).
    checks: bool = False
    reference_price: str = "openai/gpt-4.1-mini"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_name(self) -> str:
        model = self.model.replace("/", "_").replace(":", "_").replace("#", "_")
        name = f"{self.dataset}__{model}__signal-{self.signal}__memory-{self.memory}"
        if self.example_chars is not None:
            name = f"{name}__example-chars-{self.example_chars}"
        if self.checks:
            name = f"{name}__checks"
        # Runs before "auto" became the default named no rule and used "llm": their files keep
        # the bare name, and record the rule in their config.
        return name if self.decision == "auto" else f"{name}__decision-{self.decision}"


def quality(
    output: OutputType, labels: Sequence[Value | None], predictions: Sequence[Value | None]
) -> float | None:
    """Exact match for labels, CCC for numeric scales, accuracy for pairwise (a tie counts only
    when the experts called a tie). A missing verdict counts as wrong (CCC: left out)."""
    items = [(p, t) for p, t in zip(predictions, labels, strict=True) if t is not None]
    if not items:
        return None
    if isinstance(output, Scale | FloatScore):
        pairs = [(float(p), float(t)) for p, t in items if p is not None]
        if len(pairs) < 2:
            return None
        return ccc([p for p, _ in pairs], [t for _, t in pairs])
    return sum(1 for p, t in items if p is not None and p == t) / len(items)


def balanced_quality(
    output: OutputType, labels: Sequence[Value | None], predictions: Sequence[Value | None]
) -> float | None:
    """Balanced accuracy for labels and pairwise (None for numeric outputs): next to exact match
    on a skewed test subset, it exposes a judge that mostly gives one label."""
    if isinstance(output, Scale | FloatScore):
        return None
    items = [(p, t) for p, t in zip(predictions, labels, strict=True) if t is not None]
    if not items:
        return None
    return balanced_accuracy([p for p, _ in items], [t for _, t in items])


def metric_name(output: OutputType) -> str:
    if isinstance(output, Pairwise):
        return "pairwise accuracy (a tie counts only when the experts said tie)"
    if isinstance(output, Scale | FloatScore):
        return "Lin's concordance correlation coefficient (CCC)"
    return "exact match"


def shard_order(train: Sequence[Feedback], seed: int, shards: Sequence[int]) -> list[Feedback]:
    """The order a seed feeds the training records in; shard n is its first n records."""
    return random.Random(seed).sample(list(train), len(train))[: max(shards)]


def with_signal(record: Feedback, signal: Signal) -> Feedback:
    """The record as a learning-signal ablation feeds it: without its feedback text (label
    only) or without its label (feedback only)."""
    if signal == "label":
        return record.model_copy(update={"feedback": None})
    if signal == "feedback":
        return record.model_copy(update={"label": None})
    return record


def _usage(verdicts: Sequence[Verdict]) -> Usage:
    total = Usage()
    for verdict in verdicts:
        total.add(verdict.usage)
    return total


def write_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """Replace the results file atomically: an interrupted write never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    tmp.replace(path)


def dataset_record(
    dataset: BenchDataset, data_dir: Path, train: list[Feedback], test: list[Feedback]
) -> dict[str, Any]:
    """What a results file says about its data: enough to tell whether a rerun used the same."""
    return {
        "name": dataset.name,
        "file": dataset.file,
        "provenance": dataset.provenance,
        "has_feedback": dataset.has_feedback,
        "sha256": dataset.file_sha256(data_dir),
        "train": len(train),
        "test_used": len(test),
        # The expert labels of the test records used, so a report can state what answering
        # the commonest one would score (numeric scales have no such baseline).
        "test_labels": None
        if isinstance(dataset.spec.output, Scale | FloatScore)
        else dict(Counter(str(r.label) for r in test).most_common()),
    }


# What the unaligned judge's verdicts depend on. The signal and memory conditions do not: with
# nothing in memory they change no prompt and no decision rule.
_UNALIGNED_KEYS = ("dataset", "model", "test_limit", "seen_limit", "example_chars", "decision")


def _unaligned_elsewhere(out_dir: Path, config: CurveConfig, seed: int) -> dict[str, Any]:
    """The scored shard-0 step of another condition of this run, so an ablation does not
    repeat the same judge calls on the test split; the copy names its source."""
    ours = asdict(config)
    for path in sorted(out_dir.glob(f"{config.dataset}__*.json")):
        if path.stem == config.run_name:
            continue
        try:
            other = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        theirs = other.get("config") if isinstance(other, dict) else None
        if not isinstance(theirs, dict) or "memory" not in theirs:  # not a learning curve
            continue
        if any(theirs.get(key) != ours[key] for key in _UNALIGNED_KEYS):
            continue
        step = other.get("steps", {}).get(f"{seed}:0", {})
        if step.get("status") == "scored":
            return {**step, "reused_from": path.stem}
    return {}


def run_curve(
    config: CurveConfig,
    data_dir: Path,
    out_dir: Path,
    models: Callable[[], dict[str, Any]],
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    dataset: BenchDataset = DATASETS[config.dataset]
    if config.signal == "feedback" and not dataset.has_feedback:
        return {
            "config": asdict(config),
            "skipped": f"{dataset.name} has no natural-language "
            "feedback, so a feedback-only condition cannot be run (nothing is invented)",
        }
    train, test = dataset.load(data_dir)
    test = test[: config.test_limit] if config.test_limit else test
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{config.run_name}.json"
    results: dict[str, Any] = (
        json.loads(path.read_text())
        if path.exists()
        else {
            "config": asdict(config),
            "dataset": dataset_record(dataset, data_dir, train, test),
            "environment": environment(config.model, ("llama-cpp-python",)),
            "steps": {},
        }
    )
    spec = dataset.spec.with_memory(
        use_guidelines=config.memory != "episodic",
        use_examples=config.memory != "semantic",
        decision=config.decision,
        example_chars=config.example_chars,
    )
    results["metric"] = metric_name(spec.output)
    test_labels = [r.label for r in test]
    steps_total = len(config.seeds) * len(config.shards)
    done = 0
    for seed in config.seeds:
        order = shard_order(train, seed, config.shards)
        store = open_store(out_dir / "stores" / f"{config.run_name}__seed{seed}.db")
        try:
            judge = Judge.load(store, spec.name, **models())
        except NotFoundError:
            judge = Judge.create(store, spec, **models())
        previous = 0
        for shard in config.shards:
            key = f"{seed}:{shard}"
            step = results["steps"].get(key, {})
            if shard == 0 and step.get("status") != "scored":
                step = _unaligned_elsewhere(out_dir, config, seed) or step
                if step.get("status") == "scored":
                    results["steps"][key] = step
                    write_checkpoint(path, results)
            if step.get("status") != "scored":
                # Align on everything seen so far: records already in memory cost nothing, so
                # the step's cost is the new shard's; and a store lost since the checkpoint
                # (e.g. a fresh checkout) is rebuilt instead of silently judging without it.
                batch = [with_signal(r, config.signal) for r in order[:shard]]
                report = judge.align(batch) if batch else None
                fresh = report is not None and report.records_added > 0
                if step.get("status") != "aligned" or fresh:
                    step = {
                        "seed": seed,
                        "shard": shard,
                        "status": "aligned",
                        "align": report.model_dump(mode="json", exclude={"new_guidelines"})
                        if report
                        else None,
                        "rebuilt_memory": bool(report and report.records_added > shard - previous),
                    }
                    results["steps"][key] = step
                    write_checkpoint(path, results)
                seen = order[:shard][: config.seen_limit]
                # Values are read from probabilities before any rationale is written, so
                # skipping the rationale changes no score and saves its tokens.
                seen_v = judge.judge_many([r.case for r in seen], rationale=False)
                test_v = judge.judge_many([r.case for r in test], rationale=False)
                judge_usage = _usage([*seen_v, *test_v])
                rules = rules_for(judge)
                seen_by_rule = values_by_rule(rules, seen_v)
                test_by_rule = values_by_rule(rules, test_v)
                checks = None
                if config.checks and first_label(spec.output) is not None:
                    test_by_rule["checks"], checks = score_checks(
                        judge, order[:shard], [r.case for r in test], test_v
                    )
                step.update(
                    status="scored",
                    memory_version=judge.version,
                    guidelines=len(judge.guidelines(include_retired=False)),
                    examples=len(judge.examples()),
                    seen_quality=quality(
                        spec.output, [r.label for r in seen], [v.value for v in seen_v]
                    ),
                    unseen_quality=quality(spec.output, test_labels, [v.value for v in test_v]),
                    seen_by_rule={
                        name: quality(spec.output, [r.label for r in seen], values)
                        for name, values in seen_by_rule.items()
                    },
                    unseen_by_rule={
                        name: quality(spec.output, test_labels, values)
                        for name, values in test_by_rule.items()
                    },
                    unseen_balanced_by_rule={
                        name: balanced_quality(spec.output, test_labels, values)
                        for name, values in test_by_rule.items()
                    },
                    decision=next((v.decision for v in test_v if v.decision), None),
                    checks=checks,
                    test_verdicts=[
                        {"p": v.probabilities, "vote": v.vote, "value": v.value} for v in test_v
                    ],
                    errors=sum(1 for v in [*seen_v, *test_v] if not v.ok),
                    judge_usage=judge_usage.model_dump(),
                    judge_calls_per_second=(
                        judge_usage.llm_calls / judge_usage.seconds if judge_usage.seconds else None
                    ),
                )
                results["steps"][key] = step
                write_checkpoint(path, results)
            previous = shard
            done += 1
            if progress:
                progress(f"{dataset.name} seed {seed} shard {shard}", done, steps_total)
        store.close()
    write_checkpoint(path, results)
    return results
