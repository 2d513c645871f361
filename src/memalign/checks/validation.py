"""Validation: a check is active only while the judge's labelled records bear it out.

It must fire on at least ``MIN_SUPPORT`` records, and the one-sided 95% Wilson lower bound of
its precision (the share of those carrying its label) must reach the judge's
``MemoryConfig.check_min_bound``. The bound, not the raw precision, is what guards against luck:
3 of 3 has precision 1.0 and a lower bound of 0.53; 9 of 9 reaches 0.77. Validation reruns over
all labelled records on every alignment and forget, so new feedback that refutes a check
deactivates it, and a forgotten record's contribution leaves the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from memalign.checks.matching import match
from memalign.records import Case, Check

MIN_SUPPORT = 3
Z = 1.645  # one-sided 95%
# (the case, the expert's label as the judge's output type spells it)
Labelled = tuple[Case, str]


def wilson_lower_bound(hits: int, n: int, z: float = Z) -> float:
    if n == 0:
        return 0.0
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def lower_bound(check: Check) -> float:
    return wilson_lower_bound(check.hits, check.fires)


def validate(check: Check, labelled: Sequence[Labelled], min_bound: float) -> Check:
    """The check with its figures recounted on ``labelled`` and ``active`` set from them."""
    fired = [label for case, label in labelled if match(check, case)[0]]
    hits = sum(1 for label in fired if label == check.label)
    active = len(fired) >= MIN_SUPPORT and wilson_lower_bound(hits, len(fired)) >= min_bound
    return check.model_copy(update={"fires": len(fired), "hits": hits, "active": active})


def revalidate(
    checks: Sequence[Check], labelled: Sequence[Labelled], min_bound: float
) -> list[Check]:
    return [validate(check, labelled, min_bound) for check in checks]
