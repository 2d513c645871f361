"""One alignment step: diff the batch against memory, find disagreements, distill guidelines,
consolidate them, keep the examples, and commit it all as one new memory version.

Every model and embedding call happens before the store transaction opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from memalign.accounting import Meter
from memalign.alignment.consolidate import consolidate
from memalign.alignment.distill import Distillation, DistillItem, distill
from memalign.alignment.exclusive import exclusive
from memalign.alignment.forget import plan_removal
from memalign.alignment.learned_checks import (
    CheckStep,
    decided,
    follow,
    labelled_with_feedback,
    settled,
    updated,
    uses_checks,
)
from memalign.checks import Labelled
from memalign.errors import InputError, LabelError, RecordConflictError
from memalign.judge_spec import JudgeSpec, Labels, Value
from memalign.judging import JudgeEngine
from memalign.judging.decision import agrees
from memalign.memory import Vector
from memalign.prompts.rendering import example_key, render_case
from memalign.records import (
    AlignmentReport,
    Example,
    Feedback,
    RejectedRecord,
    Verdict,
    utcnow,
)
from memalign.stores import ChangeSet

EXAMPLE_CASE_CHARS = 1500
OnInvalid = Literal["raise", "skip"]
# What a record whose id is stored with other content does: replace the stored one (with
# everything derived from it), or refuse the whole batch before anything changes.
OnExisting = Literal["replace", "refuse"]


def validate(
    records: Iterable[Feedback], spec: JudgeSpec, on_invalid: OnInvalid
) -> tuple[list[Feedback], list[RejectedRecord]]:
    """Labels coerced to the judge's output type (case preserved); duplicates refused."""
    valid: list[Feedback] = []
    rejected: list[RejectedRecord] = []
    seen: set[str] = set()
    for position, record in enumerate(records, start=1):
        try:
            if record.id in seen:
                raise InputError("duplicate id in one batch", field="id", record_id=record.id)
            seen.add(record.id)
            if record.inputs is None and record.outputs is None and record.expectations is None:
                # An empty case would be stored and learned from as if it were one.
                raise InputError(
                    "no case: inputs, outputs and expectations are all missing",
                    field="outputs",
                    record_id=record.id,
                )
            if record.label is None and record.feedback is None:
                raise InputError(
                    "needs a label, feedback or both", field="label", record_id=record.id
                )
            update: dict[str, object] = {}
            if record.label is not None:
                try:
                    update["label"] = spec.output.coerce(record.label)
                except LabelError as exc:
                    raise LabelError(exc.reason, field="label", record_id=record.id) from None
            if record.verdict is not None:
                try:
                    update["verdict"] = spec.output.coerce(record.verdict)
                except LabelError as exc:
                    raise LabelError(exc.reason, field="verdict", record_id=record.id) from None
            if record.created_at is None:
                update["created_at"] = utcnow()
            valid.append(record.model_copy(update=update))
        except InputError as exc:
            if on_invalid == "raise":
                raise (exc.located(line=position) if exc.line is None else exc) from None
            rejected.append(RejectedRecord(id=record.id, reason=str(exc)))
    return valid, rejected


def _binary(spec: JudgeSpec) -> bool:
    return isinstance(spec.output, Labels) and len(spec.output.labels) == 2


def _score(
    engine: JudgeEngine, records: list[Feedback], meter: Meter, *, by_model: bool = False
) -> dict[str, Verdict]:
    """Judge records under the current memory, each without its own example; ``by_model``:
    the model answers even where the stored checks would decide."""
    if not records:
        return {}
    verdicts = engine.judge_many(
        [r.case for r in records],
        exclude=[(r.id,) for r in records],
        rationale=False,
        checks_decide=not by_model,
    )
    for verdict in verdicts:
        meter.merge(verdict.usage)
    return {r.id: v for r, v in zip(records, verdicts, strict=True)}


def _agreement(
    spec: JudgeSpec, incoming: list[Feedback], judged: dict[str, Value | None]
) -> dict[str, bool | None]:
    """Whether the judge's verdict on each record agrees with its expert (None: unknown)."""
    agreement: dict[str, bool | None] = {}
    for record in incoming:
        value = judged.get(record.id)
        agreement[record.id] = (
            agrees(spec.output, value, record.label)
            if value is not None and record.label is not None
            else None
        )
    return agreement


def _calibrate(
    engine: JudgeEngine,
    incoming: list[Feedback],
    examples: list[tuple[Example, Vector]],
    meter: Meter,
) -> int | None:
    """Re-score labelled records under the memory they just built; store the probabilities as
    the evidence the decision threshold is fitted on. Returns the new version, if any."""
    labelled = [r for r in incoming if r.label is not None]
    # One record first: a model that returns no probabilities gives nothing to calibrate on,
    # and the other calls would be spent for nothing.
    scored = _score(engine, labelled[:1], meter)
    if not any(v.probabilities for v in scored.values()):
        return None
    scored |= _score(engine, labelled[1:], meter)
    updates = [
        (example.model_copy(update={"judge_probs": scored[example.record_id].probabilities}), v)
        for example, v in examples
        if example.record_id in scored and scored[example.record_id].probabilities
    ]
    if not updates:
        return None
    return engine.store.commit(
        engine.judge_id,
        ChangeSet(
            operation="calibrate", upsert_examples=updates, summary={"examples": len(updates)}
        ),
    )


@exclusive
def align(
    engine: JudgeEngine,
    records: Iterable[Feedback],
    *,
    detect_disagreements: bool | None = None,
    on_invalid: OnInvalid = "raise",
    on_existing: OnExisting = "replace",
) -> AlignmentReport:
    meter = Meter()
    with meter.timed():
        row = engine.refresh()
        spec = row.spec
        valid, rejected = validate(records, spec, on_invalid)
        stored = engine.store.record_hashes(row.judge_id, [r.id for r in valid])
        incoming = [r for r in valid if stored.get(r.id) != r.content_hash()]
        changed = [r.id for r in incoming if r.id in stored]
        if changed and on_existing == "refuse":
            raise RecordConflictError(changed)
        report = AlignmentReport(
            judge=spec.name,
            memory_version=row.version,
            records_added=len(incoming) - len(changed),
            records_updated=len(changed),
            records_replaced=changed,
            records_unchanged=len(valid) - len(incoming),
            records_rejected=len(rejected),
            rejected=rejected,
        )
        if not incoming:
            report.usage = meter.snapshot()
            return report

        # What the current judge says about each new case (the recorded verdict wins).
        detect = (
            spec.memory.detect_disagreements
            if detect_disagreements is None
            else (detect_disagreements)
        )
        judged: dict[str, Value | None] = {
            r.id: r.verdict for r in incoming if r.verdict is not None
        }
        to_judge = [r for r in incoming if detect and r.verdict is None and r.label is not None]

        # An overwritten record takes what was derived from its old content with it.
        removal = plan_removal(
            engine.store,
            row.judge_id,
            spec,
            changed,
            reflection=engine.reflection,
            embedder=engine.embedder,
            meter=meter,
        )
        existing = [
            (g, v)
            for g, v in engine.store.guidelines(row.judge_id)
            if g.id not in set(removal.delete_guidelines)
        ]
        rewritten = {g.id: (g, v) for g, v in removal.rewrite}
        existing = [rewritten.get(g.id, (g, v)) for g, v in existing]

        # Checks follow all labelled records as they will be after this batch. Mining needs
        # no model, so it runs first: a record the checks decide is judged by them, as the
        # judge will judge it, and costs no model call (design/checks.md).
        labelled: list[Labelled] = []
        named: list[str] = []
        by_checks: dict[str, str] = {}
        if uses_checks(spec):
            replaced = set(changed)
            kept = [r for r in engine.store.get_records(row.judge_id) if r.id not in replaced]
            labelled, named = labelled_with_feedback([*kept, *incoming], spec)
            if to_judge:
                by_checks = settled(spec, existing, labelled, incoming, named, to_judge)
        # The stored checks are not asked again: those this batch leaves judged just now.
        asked = [r for r in to_judge if r.id not in by_checks]
        scored = _score(engine, asked, meter, by_model=uses_checks(spec))
        judged.update(by_checks)
        judged.update({rid: verdict.value for rid, verdict in scored.items()})
        probs = {rid: v.probabilities for rid, v in scored.items() if v.probabilities}
        agreement = _agreement(spec, incoming, judged)

        # Feedback text always teaches; a bare label only when the judge got it wrong or we
        # don't know (a label the judge already agrees with adds an example, not a rule).
        to_distill = [
            DistillItem(r, judged.get(r.id))
            for r in incoming
            if r.feedback or agreement[r.id] is not True
        ]
        distilled = (
            distill(
                engine.reflection,
                spec,
                to_distill,
                [g for g, _ in existing if g.status != "retired"],
                meter,
            )
            if spec.memory.use_guidelines
            else Distillation([])
        )
        merged = consolidate(
            distilled.candidates,
            existing,
            spec=spec,
            reflection=engine.reflection,
            embedder=engine.embedder,
            meter=meter,
        )

        checks = CheckStep([], [], [])
        if uses_checks(spec):
            current = [(g, v) for g, v in existing if g.id not in merged.upserts]
            current += list(merged.upserts.values())
            checks = follow(spec, current, merged.proposed, labelled, incoming, named)
            # Reflection's proposals and consolidation can still change what the checks say
            # about a record they judged: such records are put to the model after all.
            by_them = [r for r in to_judge if r.id in by_checks]
            now = decided(spec, updated(current, checks.updates), by_them)
            moved = [r for r in by_them if now.get(r.id) != by_checks[r.id]]
            if moved:
                rescored = _score(engine, moved, meter, by_model=True)
                for rid, verdict in rescored.items():
                    del by_checks[rid]
                    judged[rid] = verdict.value
                    if verdict.probabilities:
                        probs[rid] = verdict.probabilities
                agreement = _agreement(spec, incoming, judged)
        report.disagreements = sum(1 for a in agreement.values() if a is False)
        report.decided_by_checks = len(by_checks)

        keys = [example_key(r.case, spec) for r in incoming]
        vectors = engine.embedder.embed(keys, meter)
        examples = [
            (
                Example(
                    record_id=r.id,
                    key_text=key,
                    case_text=render_case(r.case, spec, limit=EXAMPLE_CASE_CHARS),
                    label=r.label,
                    feedback=r.feedback,
                    agree=agreement[r.id],
                    judge_value=judged.get(r.id),
                    judge_probs=probs.get(r.id),
                    decided_by_checks=r.id in by_checks,
                ),
                vector,
            )
            for r, key, vector in zip(incoming, keys, vectors, strict=True)
        ]
        upserts = {**rewritten, **merged.upserts, **{g.id: (g, v) for g, v in checks.updates}}
        version = engine.store.commit(
            row.judge_id,
            ChangeSet(
                operation="align",
                delete_records=changed,
                upsert_records=incoming,
                delete_guidelines=removal.delete_guidelines,
                upsert_guidelines=list(upserts.values()),
                upsert_examples=examples,
                summary={
                    "records_added": report.records_added,
                    "records_updated": report.records_updated,
                    "guidelines_added": len(merged.added),
                    "guidelines_merged": merged.merged,
                    "disagreements": report.disagreements,
                    "checks_added": len(checks.added),
                },
            ),
        )
        if spec.memory.calibrate and probs and _binary(spec):
            # The model is probed on a record the checks leave to it: a record they decide
            # would show no probabilities and stop calibration for the whole batch.
            order = sorted(incoming, key=lambda r: r.id in by_checks)
            version = _calibrate(engine, order, examples, meter) or version
        if changed:
            # The overwritten content must leave the files too, the saved vector index included.
            engine.episodic.scrub()
            engine.store.compact(vacuum=False)
        report.memory_version = version
        report.guidelines_proposed = distilled.proposed
        report.guidelines_dropped = list(distilled.dropped)
        report.reflection_unreadable = distilled.unreadable
        report.guidelines_added = len(merged.added)
        report.guidelines_merged = merged.merged
        report.guidelines_removed = len(removal.delete_guidelines) + merged.retired
        report.guidelines_redistilled = len(removal.redistilled)
        report.examples_added = len(examples)
        report.examples_removed = len(changed)
        report.new_guidelines = merged.added
        report.checks_added = checks.added
        report.checks_refuted = checks.refuted
    report.usage = meter.snapshot()
    return report
