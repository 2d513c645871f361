"""Forgetting: what goes when records go.

A record's example (and vector) and any cached verdicts go with it. A distilled guideline whose
sources are all forgotten is deleted; one with some sources left is re-distilled from those in
strict mode (the default), so no text derived from forgotten feedback survives, or keeps its
words with the shrunken provenance otherwise. Afterwards the store is compacted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from memalign.accounting import Meter
from memalign.alignment.distill import redistill
from memalign.alignment.exclusive import exclusive
from memalign.alignment.learned_checks import labelled_with_feedback, revalidated, uses_checks
from memalign.checks import explain, pruned
from memalign.embedders import EmbeddingClient
from memalign.errors import DependencyError, InputError, ModelAssetError, ProviderError
from memalign.judge_spec import JudgeSpec
from memalign.judging import JudgeEngine
from memalign.memory import Vector
from memalign.providers import ModelClient
from memalign.records import ForgetReport, Guideline, utcnow
from memalign.stores import ChangeSet, MemoryStore


@dataclass
class RemovalPlan:
    delete_guidelines: list[str] = field(default_factory=list)
    rewrite: list[tuple[Guideline, Vector | None]] = field(default_factory=list)
    redistilled: list[str] = field(default_factory=list)


def plan_removal(
    store: MemoryStore,
    judge_id: int,
    spec: JudgeSpec,
    removed: Collection[str],
    *,
    reflection: ModelClient,
    embedder: EmbeddingClient,
    meter: Meter,
    dry_run: bool = False,
) -> RemovalPlan:
    plan = RemovalPlan()
    gone = set(removed)
    if not gone:
        return plan
    for guideline, vector in store.guidelines(judge_id):
        touched = gone.intersection(guideline.sources)
        if not touched:
            continue
        remaining = [s for s in guideline.sources if s not in gone]
        if not remaining and guideline.origin in ("distilled", "check"):
            plan.delete_guidelines.append(guideline.id)
            continue
        # A mined check's words are the check's own explanation, not the feedback's: it keeps
        # its remaining sources and its figures are recounted below, with no model call.
        if guideline.origin in ("manual", "check") or not spec.memory.strict_forget:
            shrunk = guideline.model_copy(update={"sources": remaining, "updated_at": utcnow()})
            plan.rewrite.append((shrunk, vector))
            continue
        plan.redistilled.append(guideline.id)
        if dry_run:
            continue
        records = store.get_records(judge_id, remaining)
        try:
            candidate = redistill(reflection, spec, guideline, records, meter)
        except (DependencyError, ModelAssetError, ProviderError):
            # Deleting data must never wait on a model: without one, the guideline goes whole
            # (nothing derived from the forgotten feedback survives; the rest is re-learnable).
            candidate = None
        if candidate is None:
            plan.delete_guidelines.append(guideline.id)
            plan.redistilled.remove(guideline.id)
            continue
        # A pattern the model proposed may quote the forgotten cases: it goes with the old
        # wording. A check a person set stays (and is recounted below).
        keep = guideline.check is not None and not guideline.check.proposed
        rewritten = guideline.model_copy(
            update={
                "text": candidate.text,
                "sources": list(candidate.sources),
                "check": guideline.check if keep else None,
                "updated_at": utcnow(),
            }
        )
        plan.rewrite.append((rewritten, embedder.embed([candidate.text], meter)[0]))
    return plan


def _recount_checks(
    store: MemoryStore, judge_id: int, spec: JudgeSpec, gone: set[str], plan: RemovalPlan
) -> None:
    """Every check's figures without the forgotten records (their labels counted in them)."""
    if not gone or not uses_checks(spec):
        return
    rewritten = {g.id: (g, v) for g, v in plan.rewrite}
    current = [
        rewritten.get(g.id, (g, v))
        for g, v in store.guidelines(judge_id)
        if g.check is not None and g.id not in plan.delete_guidelines
    ]
    if not current:
        return
    left = [r for r in store.get_records(judge_id) if r.id not in gone]
    labelled, named = labelled_with_feedback(left, spec)
    # A mined check of several terms or clauses keeps only those still borne out (a pool's
    # other terms would keep a forgotten one deciding); one with none left goes.
    trimmed = []
    for guideline, vector in current:
        check = guideline.check
        if guideline.origin == "check" and check is not None:
            kept = pruned(check, labelled, named)
            if kept is None:
                plan.delete_guidelines.append(guideline.id)
                rewritten.pop(guideline.id, None)
                continue
            if kept != check:
                guideline = guideline.model_copy(update={"check": kept, "text": explain(kept)})
                rewritten[guideline.id] = (guideline, vector)
        trimmed.append((guideline, vector))
    for guideline, vector in revalidated(spec, trimmed, labelled):
        rewritten[guideline.id] = (guideline, vector)
    plan.rewrite = list(rewritten.values())


def resolve_targets(
    store: MemoryStore,
    judge_id: int,
    *,
    ids: Collection[str] | None,
    annotator: str | None,
    before: datetime | None,
    after: datetime | None,
) -> tuple[list[str], list[str]]:
    """(record ids to forget, requested ids that are not in memory)."""
    if ids is None and annotator is None and before is None and after is None:
        raise InputError("say what to forget: ids, an annotator or a time range")
    known = set(store.record_hashes(judge_id, None if ids is None else sorted(set(ids))))
    selected = set(known)
    missing: list[str] = []
    if ids is not None:
        wanted = set(ids)
        missing = sorted(wanted - known)
        selected &= wanted
    if annotator is not None or before is not None or after is not None:
        selected &= set(
            store.find_record_ids(judge_id, annotator=annotator, before=before, after=after)
        )
    return sorted(selected), missing


@exclusive
def forget(
    engine: JudgeEngine,
    *,
    ids: Collection[str] | None = None,
    annotator: str | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    dry_run: bool = False,
) -> ForgetReport:
    meter = Meter()
    with meter.timed():
        row = engine.refresh()
        targets, missing = resolve_targets(
            engine.store, row.judge_id, ids=ids, annotator=annotator, before=before, after=after
        )
        examples_removed = engine.store.example_count(row.judge_id, targets)
        plan = plan_removal(
            engine.store,
            row.judge_id,
            row.spec,
            targets,
            reflection=engine.reflection,
            embedder=engine.embedder,
            meter=meter,
            dry_run=dry_run,
        )
        # align recounts every check over the batch it adds; forget recounts them here.
        _recount_checks(engine.store, row.judge_id, row.spec, set(targets), plan)
        version = row.version
        if targets and not dry_run:
            version = engine.store.commit(
                row.judge_id,
                ChangeSet(
                    operation="forget",
                    delete_records=targets,
                    delete_guidelines=plan.delete_guidelines,
                    upsert_guidelines=plan.rewrite,
                    summary={
                        "records_removed": len(targets),
                        "guidelines_removed": len(plan.delete_guidelines),
                        "guidelines_redistilled": len(plan.redistilled),
                    },
                ),
            )
            # The index saved beside the store holds vectors too: scrub it before compacting.
            engine.episodic.scrub()
            engine.store.compact(vacuum=False)
    return ForgetReport(
        judge=row.spec.name,
        memory_version=version,
        dry_run=dry_run,
        records_removed=targets,
        records_not_found=missing,
        examples_removed=examples_removed,
        guidelines_removed=plan.delete_guidelines,
        guidelines_redistilled=plan.redistilled,
        usage=meter.snapshot(),
    )
