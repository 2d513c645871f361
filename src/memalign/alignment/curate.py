"""Hand edits to memory: add, edit, pin, retire and approve guidelines; choose the rule that
decides what the checks leave.

Each edit is its own memory version, like an alignment."""

from __future__ import annotations

from dataclasses import replace

from memalign.alignment.exclusive import exclusive
from memalign.alignment.learned_checks import labelled_cases, uses_checks
from memalign.checks import explain, validate
from memalign.checks import pairwise as pairs
from memalign.errors import (
    DependencyError,
    InputError,
    LabelError,
    ModelAssetError,
    NotFoundError,
)
from memalign.judge_spec import DECISIONS, Decision, Pairwise, decision_named
from memalign.judging import JudgeEngine
from memalign.memory import Vector
from memalign.memory.semantic import new_guideline_id
from memalign.records import Check, Guideline, GuidelineStatus, utcnow
from memalign.stores import ChangeSet


def _find(engine: JudgeEngine, guideline_id: str) -> tuple[Guideline, Vector | None]:
    for guideline, vector in engine.store.guidelines(engine.judge_id):
        if guideline.id == guideline_id:
            return guideline, vector
    raise NotFoundError("guideline", guideline_id)


def _save(
    engine: JudgeEngine, operation: str, guideline: Guideline, vector: Vector | None
) -> Guideline:
    engine.store.commit(
        engine.judge_id,
        ChangeSet(
            operation=operation,
            upsert_guidelines=[(guideline, vector)],
            summary={"guideline": guideline.id},
        ),
    )
    return guideline


def _vector(engine: JudgeEngine, text: str) -> Vector | None:
    """The guideline's embedding, used only to rank guidelines when more than the budget are
    active. A hand edit must not need the embedding model installed: without it the guideline
    is kept unranked (always a candidate, never preferred)."""
    try:
        vector: Vector = engine.embedder.embed([text])[0]
        return vector
    except (DependencyError, ModelAssetError):
        return None


@exclusive
def add_guideline(
    engine: JudgeEngine, text: str, *, pinned: bool = False, check: Check | None = None
) -> Guideline:
    """A hand-written rule, optionally with a check: the check is validated on the labelled
    records now and at every later alignment, and acts only while they bear it out."""
    text = " ".join(text.split())
    if not text:
        raise InputError("guideline text must not be empty", field="text")
    if check is not None:
        check = _validated(engine, check)
    guideline = Guideline(
        id=new_guideline_id(), text=text, origin="manual", pinned=pinned, check=check
    )
    return _save(engine, "guideline.add", guideline, _vector(engine, text))


def _validated(engine: JudgeEngine, check: Check) -> Check:
    spec = engine.spec
    if not uses_checks(spec):
        raise InputError(
            "checks need a judge with labels or pairwise (and MemoryConfig.checks on)",
            field="check",
        )
    if isinstance(spec.output, Pairwise):
        # A check on a pairwise judge looks at one candidate: it wins or it loses.
        label = check.label.strip().casefold()
        if label not in pairs.LABELS:
            raise InputError(
                f"a pairwise judge's check implies wins or loses, not {check.label!r}",
                field="check.label",
            )
    else:
        try:
            label = str(spec.output.coerce(check.label))
        except LabelError as exc:
            raise InputError(exc.reason, field="check.label") from None
    labelled = labelled_cases(engine.store.get_records(engine.judge_id), spec)
    return validate(
        check.model_copy(update={"label": label}), labelled, spec.memory.check_min_bound
    )


@exclusive
def edit_guideline(engine: JudgeEngine, guideline_id: str, text: str) -> Guideline:
    text = " ".join(text.split())
    if not text:
        raise InputError("guideline text must not be empty", field="text")
    current, _ = _find(engine, guideline_id)
    edited = current.model_copy(update={"text": text, "updated_at": utcnow()})
    return _save(engine, "guideline.edit", edited, _vector(engine, text))


@exclusive
def set_check(engine: JudgeEngine, guideline_id: str, check: Check | None) -> Guideline:
    """Give a guideline a check, replace its check, or (``None``) remove it. The new check is
    validated on the labelled records first, like one added with its guideline."""
    current, vector = _find(engine, guideline_id)
    if check is None and current.origin == "check":
        # A mined guideline is its check explained: without the check nothing is left.
        raise InputError(
            f"{guideline_id} was mined as a check: retire it instead", field="guideline"
        )
    if check is None and current.check is None:
        return current  # nothing to remove: no new memory version
    if check is not None:
        check = _validated(engine, check)
    update: dict[str, object] = {"check": check, "updated_at": utcnow()}
    if check is not None and current.origin == "check":
        update["text"] = explain(check)
    changed = current.model_copy(update=update)
    operation = "guideline.check" if check is not None else "guideline.uncheck"
    return _save(engine, operation, changed, vector)


@exclusive
def set_pinned(engine: JudgeEngine, guideline_id: str, pinned: bool = True) -> Guideline:
    current, vector = _find(engine, guideline_id)
    if current.pinned == pinned:
        return current
    changed = current.model_copy(update={"pinned": pinned, "updated_at": utcnow()})
    return _save(engine, "guideline.pin" if pinned else "guideline.unpin", changed, vector)


@exclusive
def set_status(engine: JudgeEngine, guideline_id: str, status: GuidelineStatus) -> Guideline:
    current, vector = _find(engine, guideline_id)
    if status == current.status:  # asking for what holds makes no new memory version
        return current
    changed = current.model_copy(update={"status": status, "updated_at": utcnow()})
    operation = {"active": "guideline.approve", "retired": "guideline.retire"}.get(
        status, "guideline.status"
    )
    return _save(engine, operation, changed, vector)


@exclusive
def set_decision(engine: JudgeEngine, rule: str) -> Decision:
    """Pin the rule that decides what the checks leave, or hand the choice back (``"auto"``).
    A new memory version, so no verdict cached under the old rule is served again."""
    chosen = decision_named(rule)
    if chosen is None:
        raise InputError(
            f"unknown decision rule {rule!r}; use {', '.join(DECISIONS)}", field="decision"
        )
    spec = engine.refresh().spec
    if spec.memory.decision != chosen:
        engine.store.commit(
            engine.judge_id,
            ChangeSet(
                operation="judge.decision",
                spec=replace(spec, memory=replace(spec.memory, decision=chosen)),
                summary={"decision": chosen, "was": spec.memory.decision},
            ),
        )
        engine.refresh()
    return chosen
