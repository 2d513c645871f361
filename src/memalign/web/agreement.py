"""Agreement figures from what experts submitted: the judge against the experts per memory
version (its learning curve) and per annotator, and the experts against each other.

Everything is read from the store's records: each review carries the judge's verdict on the
case before anyone reviewed it (``Feedback.verdict``; a later expert sees one already taught by
the first) and when it was given. A case's reviews count under the memory version in force at
its first review (the last one committed before it), the version that verdict came from.
Forgotten records leave these figures with them.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from memalign.evaluation import agreement_report
from memalign.evaluation.metrics import cohen_kappa
from memalign.judge_spec import JudgeSpec
from memalign.records import Feedback, MemoryVersion
from memalign.web.queue import case_hash
from memalign.web.triage import reviews_by_case

CURVE_WIDTH, CURVE_HEIGHT = 600, 160


@dataclass(frozen=True)
class Row:
    key: str
    report: dict[str, Any]

    @property
    def score(self) -> float | None:
        for metric in ("kappa", "ccc", "accuracy"):
            value = self.report.get(metric)
            if isinstance(value, float):
                return value
        return None


def _version_at(history: Sequence[MemoryVersion], when: datetime | None) -> int:
    version = 0
    if when is None:
        return version
    for entry in history:
        if entry.created_at < when:
            version = entry.version
    return version


def judge_vs_experts(
    spec: JudgeSpec, records: Sequence[Feedback], history: Sequence[MemoryVersion]
) -> tuple[list[Row], list[Row]]:
    """(per memory version, per annotator): the judge's verdict before review vs each label."""
    scored = [r for r in records if r.label is not None and r.verdict is not None]
    first_review: dict[str, datetime] = {}
    for digest, group in reviews_by_case(scored).items():
        times = [r.created_at for r in group if r.created_at is not None]
        if times:
            first_review[digest] = min(times)
    by_version: dict[int, list[Feedback]] = defaultdict(list)
    by_annotator: dict[str, list[Feedback]] = defaultdict(list)
    for record in scored:
        when = first_review.get(case_hash(record.case), record.created_at)
        by_version[_version_at(history, when)].append(record)
        by_annotator[record.annotator or "(none)"].append(record)

    def rows(groups: dict[Any, list[Feedback]]) -> list[Row]:
        return [
            Row(
                str(key),
                agreement_report(spec.output, [r.label for r in items], [r.verdict for r in items]),
            )
            for key, items in sorted(groups.items())
        ]

    return rows(by_version), rows(by_annotator)


def between_experts(records: Sequence[Feedback]) -> dict[str, Any]:
    """Cases labelled by several experts: how often they all agree, and Cohen's κ per pair."""
    shared = [
        {r.annotator: r.label for r in group if r.annotator and r.label is not None}
        for group in reviews_by_case(records).values()
    ]
    shared = [labels for labels in shared if len(labels) > 1]
    pairs: dict[tuple[str, str], list[tuple[Any, Any]]] = defaultdict(list)
    for labels in shared:
        for a, b in itertools.combinations(sorted(labels), 2):
            pairs[(a, b)].append((labels[a], labels[b]))
    pair_rows = []
    for (a, b), values in sorted(pairs.items()):
        first = [str(x) for x, _ in values]
        second = [str(y) for _, y in values]
        pair_rows.append(
            {
                "a": a,
                "b": b,
                "n": len(values),
                "agreement": sum(x == y for x, y in zip(first, second, strict=True)) / len(values),
                "kappa": cohen_kappa(first, second) if len(values) > 1 else None,
            }
        )
    unanimous = sum(1 for labels in shared if len({str(v) for v in labels.values()}) == 1)
    return {
        "cases": len(shared),
        "unanimous": unanimous,
        "share": unanimous / len(shared) if shared else None,
        "pairs": pair_rows,
    }


def curve_points(rows: Sequence[Row]) -> str:
    """SVG polyline points for the score per version (κ, CCC or accuracy), drawn in [-1, 1]."""
    values = [(i, row.score) for i, row in enumerate(rows) if row.score is not None]
    if not values:
        return ""
    step = CURVE_WIDTH / max(1, len(rows) - 1)
    return " ".join(
        f"{i * step:.1f},{(1 - (score + 1) / 2) * CURVE_HEIGHT:.1f}" for i, score in values
    )
