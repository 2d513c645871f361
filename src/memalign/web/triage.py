"""Which case most needs an expert next: the order, filters and progress of a judge's queue.

A case needs an expert when nobody has reviewed it yet, or when the experts who did disagree.
Among those, first the ones the judge could not answer (an error), then the ones where the
experts disagree or a validated check that fired contradicts the verdict (the model overrode
the checks, or the checks disagree among themselves: either way a conflict only an expert can
settle), then the ones whose verdict just flipped under new memory, then by the judge's
uncertainty: none when agreeing validated checks decided it (their evidence is the expert
labels themselves), else one minus its top label probability when the model reports
probabilities, else how split the retrieved examples' vote was, else unknown (in between).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from memalign.checks import pairwise as pairs
from memalign.records import CheckHit, Feedback, Verdict
from memalign.web.queue import QueuedCase, case_hash

Status = Literal["all", "todo", "reviewed", "conflict", "checks", "flipped", "errors"]
STATUSES: tuple[Status, ...] = (
    "all",
    "todo",
    "reviewed",
    "conflict",
    "checks",
    "flipped",
    "errors",
)


@dataclass(frozen=True)
class Item:
    queued: QueuedCase
    reviews: list[Feedback]
    uncertainty: float

    @property
    def case_id(self) -> str:
        return self.queued.case_id

    @property
    def verdict(self) -> Verdict | None:
        return self.queued.verdict

    @property
    def reviewed(self) -> bool:
        return bool(self.reviews)

    @property
    def conflict(self) -> bool:
        return len({str(r.label) for r in self.reviews if r.label is not None}) > 1

    @property
    def error(self) -> bool:
        return self.verdict is not None and not self.verdict.ok

    @property
    def checks(self) -> list[CheckHit]:
        verdict = self.verdict
        return list(verdict.checks) if verdict is not None else []

    @property
    def decided_by_checks(self) -> bool:
        return self.verdict is not None and self.verdict.decision == "checks"

    @property
    def check_conflict(self) -> bool:
        """A fired check implies another label than the verdict's value."""
        return checks_contradict(self.verdict)

    @property
    def flipped(self) -> bool:
        return self.queued.flipped_from is not None

    def reviewed_by(self, annotator: str) -> bool:
        return any(r.annotator == annotator for r in self.reviews)

    @property
    def needs_expert(self) -> bool:
        return not self.reviewed or self.conflict

    def need(self) -> float:
        return (
            3.0 * self.error
            + 2.0 * (self.conflict or self.check_conflict)
            + 1.0 * self.flipped
            + self.uncertainty
        )


def checks_contradict(verdict: Verdict | None) -> bool:
    if verdict is None or not verdict.ok or verdict.value is None:
        return False
    return any(pairs.contradicts(hit, str(verdict.value)) for hit in verdict.checks)


def uncertainty(verdict: Verdict | None) -> float:
    if verdict is None or not verdict.ok:
        return 1.0
    if verdict.decision == "checks" and verdict.checks and not checks_contradict(verdict):
        return 0.0
    if verdict.probabilities:
        return 1.0 - max(verdict.probabilities.values())
    if verdict.vote is not None:
        return 0.5 * (1.0 - min(1.0, abs(verdict.vote)))
    return 0.5


def reviews_by_case(records: Sequence[Feedback]) -> dict[str, list[Feedback]]:
    """Stored feedback grouped by the content of its case (how queue cases find theirs)."""
    grouped: dict[str, list[Feedback]] = defaultdict(list)
    for record in records:
        grouped[case_hash(record.case)].append(record)
    return grouped


def build(queued: Sequence[QueuedCase], grouped: Mapping[str, list[Feedback]]) -> list[Item]:
    """Every case in the order an expert should see them; ``grouped`` is the reviews by case
    content (:func:`reviews_by_case`)."""
    items = [Item(q, grouped.get(q.hash, []), uncertainty(q.verdict)) for q in queued]
    items.sort(key=lambda i: (not i.needs_expert, -i.need(), i.queued.position))
    return items


def select(items: Sequence[Item], status: str, verdict: str, text: str) -> list[Item]:
    wanted = text.casefold().strip()
    out = []
    for item in items:
        if status == "todo" and not item.needs_expert:
            continue
        if status == "reviewed" and not item.reviewed:
            continue
        if status == "conflict" and not item.conflict:
            continue
        if status == "checks" and not item.checks:
            continue
        if status == "flipped" and not item.flipped:
            continue
        if status == "errors" and not item.error:
            continue
        if verdict and (item.verdict is None or str(item.verdict.value) != verdict):
            continue
        if wanted and wanted not in item.queued.case.model_dump_json().casefold():
            continue
        out.append(item)
    return out


def next_for(items: Sequence[Item], annotator: str, after: str | None = None) -> Item | None:
    """The first case in need this annotator has not reviewed, skipping ``after``."""
    for item in items:
        if item.case_id != after and item.needs_expert and not item.reviewed_by(annotator):
            return item
    return None


def progress(items: Sequence[Item]) -> tuple[int, int]:
    return sum(1 for i in items if i.reviewed), len(items)
