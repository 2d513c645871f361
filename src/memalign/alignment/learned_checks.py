"""The judge's checks follow its labelled records: at each alignment every check is validated
again on all of them (new feedback can refute one: it is deactivated and its guideline stays),
and new candidates are mined from the batch's feedback; at each forget the figures are
recounted without the forgotten records, and a mined check whose every source is gone goes.
Validation is substring search over the records, no model call (see memalign.checks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memalign.checks import (
    Labelled,
    adopt,
    candidate_terms,
    explain,
    mine_checks,
    named_by,
    validate,
)
from memalign.checks import pairwise as pairs
from memalign.judge_spec import JudgeSpec, Labels, Pairwise
from memalign.judging.decision import active_checks, checks_fired, decided_by_checks
from memalign.memory import Vector
from memalign.memory.semantic import new_guideline_id
from memalign.records import Case, Feedback, Guideline, Predicate, utcnow

Item = tuple[Guideline, Vector | None]


def uses_checks(spec: JudgeSpec) -> bool:
    return spec.memory.checks and isinstance(spec.output, Labels | Pairwise)


def labelled_cases(records: Sequence[Feedback], spec: JudgeSpec) -> list[Labelled]:
    """What checks are validated on: each labelled record; for a pairwise judge, each
    candidate of each record with a winner, labelled wins or loses."""
    return [labelled for _, labelled in _labelled(records, spec)]


def labelled_with_feedback(
    records: Sequence[Feedback], spec: JudgeSpec
) -> tuple[list[Labelled], list[str]]:
    """:func:`labelled_cases`, and the expert's feedback behind each in the same order: what
    the experts named on each record (mining pools only terms named where they fire)."""
    rows = _labelled(records, spec)
    return [labelled for _, labelled in rows], [r.feedback or "" for r, _ in rows]


def _labelled(records: Sequence[Feedback], spec: JudgeSpec) -> list[tuple[Feedback, Labelled]]:
    if isinstance(spec.output, Pairwise):
        return [
            (r, labelled)
            for r in records
            if r.label is not None
            for labelled in pairs.labelled_candidates(r.case, str(r.label))
        ]
    return [(r, (r.case, str(r.label))) for r in records if r.label is not None]


def revalidated(
    spec: JudgeSpec, guidelines: Sequence[Item], labelled: Sequence[Labelled]
) -> list[Item]:
    """The guidelines whose check's figures (or standing) changed, updated."""
    updates: list[Item] = []
    for guideline, vector in guidelines:
        if guideline.check is None:
            continue
        check = validate(guideline.check, labelled, spec.memory.check_min_bound)
        if check == guideline.check:
            continue
        # A mined check's text is its explanation; a hand-written guideline keeps its words.
        text = explain(check) if guideline.origin == "check" else guideline.text
        updates.append(
            (
                guideline.model_copy(update={"check": check, "text": text, "updated_at": utcnow()}),
                vector,
            )
        )
    return updates


@dataclass(frozen=True)
class CheckStep:
    """What an alignment does to the checks: every guideline whose check changed (``updates``),
    the checks it added (adopted or mined) and the ids of those it refuted."""

    updates: list[Item]
    added: list[Guideline]
    refuted: list[str]


def follow(
    spec: JudgeSpec,
    current: Sequence[Item],
    proposed: Mapping[str, Predicate],
    labelled: Sequence[Labelled],
    batch: Sequence[Feedback],
    named: Sequence[str],
) -> CheckStep:
    """The checks after an alignment: ``current`` (the guidelines as the batch leaves them)
    recounted on ``labelled``, reflection's ``proposed`` checks adopted, and new ones mined
    from the ``batch``'s feedback, none testing what an adopted one tests. ``named``: the
    feedback behind each labelled record (:func:`labelled_with_feedback`), for pooled checks."""
    recounted = revalidated(spec, current, labelled)
    was_active = {g.id for g, _ in current if g.check is not None and g.check.active}
    refuted = [g.id for g, _ in recounted
               if g.id in was_active and g.check is not None and not g.check.active]  # fmt: skip
    proposals = adopted(spec, proposed, current, labelled)
    with_proposals = {g.id: (g, v) for g, v in [*current, *proposals]}
    found = mined(spec, list(with_proposals.values()), labelled, batch, named)
    return CheckStep(
        updates=[*recounted, *proposals, *found],
        added=[g for g, _ in [*proposals, *found]],
        refuted=refuted,
    )


def settled(
    spec: JudgeSpec,
    current: Sequence[Item],
    labelled: Sequence[Labelled],
    batch: Sequence[Feedback],
    named: Sequence[str],
    to_judge: Sequence[Feedback],
) -> dict[str, str]:
    """The verdicts the checks decide among ``to_judge``, by record id: the checks as this
    alignment will leave them (``current`` recounted on ``labelled``, and those mined from the
    ``batch``), before any model call. Such a record needs no judge call to find out whether
    the judge agrees with its expert: the judge will not ask the model about it."""
    if not spec.memory.checks_decide:
        return {}
    step = follow(spec, current, {}, labelled, batch, named)
    return decided(spec, updated(current, step.updates), to_judge)


def updated(current: Sequence[Item], updates: Sequence[Item]) -> list[Item]:
    """``current`` with each guideline that ``updates`` holds replaced by its update (and any
    new one added)."""
    return list({g.id: (g, v) for g, v in [*current, *updates]}.values())


def decided(
    spec: JudgeSpec, guidelines: Sequence[Item], records: Sequence[Feedback]
) -> dict[str, str]:
    """What the active checks among ``guidelines`` decide, by record id (records they leave
    undecided are absent)."""
    checks = active_checks(g for g, _ in guidelines)
    if not checks:
        return {}
    verdicts = {
        r.id: decided_by_checks(checks_fired(checks, r.case, spec.output), spec.output)
        for r in records
    }
    return {rid: value for rid, value in verdicts.items() if value is not None}


def adopted(
    spec: JudgeSpec,
    proposed: Mapping[str, Predicate],
    guidelines: Sequence[Item],
    labelled: Sequence[Labelled],
) -> list[Item]:
    """The guidelines that reflection proposed a check with, carrying it where the labelled
    records do not refute it (:func:`memalign.checks.adopt`); the guideline keeps its words.
    Never onto a guideline that has a check already, a retired one, or one a person owns (a
    pinned or hand-written rule keeps its words and gets no model-written check either)."""
    updates: list[Item] = []
    for guideline, vector in guidelines:
        where = proposed.get(guideline.id)
        human = guideline.pinned or guideline.origin == "manual"
        if where is None or guideline.check is not None or guideline.status == "retired" or human:
            continue
        check = adopt(where, labelled, spec.memory.check_min_bound)
        if check is not None:
            updated = guideline.model_copy(update={"check": check, "updated_at": utcnow()})
            updates.append((updated, vector))
    return updates


def mined(
    spec: JudgeSpec,
    guidelines: Sequence[Item],
    labelled: Sequence[Labelled],
    batch: Sequence[Feedback],
    named: Sequence[str],
) -> list[Item]:
    """New check guidelines from the batch's feedback, citing the records whose words named
    the term (for a pooled check: one of its terms)."""
    known = [g.check for g, _ in guidelines if g.check is not None]
    # Each record's candidate terms, computed once: mining tries them all, and a mined check
    # cites the records whose words named it.
    by_record = {
        r.id: (candidate_terms(r.feedback), r.feedback, _cases(r, spec))
        for r in batch
        if r.feedback
    }
    found = mine_checks(
        [text for _, text, _ in by_record.values()],
        labelled,
        spec.memory.check_min_bound,
        known=known,
        terms=set().union(*(terms for terms, _, _ in by_record.values())),
        named=named,
        fresh=labelled_cases(batch, spec),
    )
    items: list[Item] = []
    for check in found:
        sources = [
            rid for rid, (terms, text, cases) in by_record.items()
            if any(named_by(check, terms, text, case) for case in cases)
        ]  # fmt: skip
        if not sources:
            continue  # a mined check cites the words it came from, or is not kept
        guideline = Guideline(
            id=new_guideline_id(), text=explain(check), sources=sources, origin="check", check=check
        )
        items.append((guideline, None))
    return items


def _cases(record: Feedback, spec: JudgeSpec) -> list[Case]:
    """What a check runs on in ``record``: its case, or for a pairwise judge each candidate."""
    if isinstance(spec.output, Pairwise):
        return list(pairs.candidates(record.case).values())
    return [record.case]
