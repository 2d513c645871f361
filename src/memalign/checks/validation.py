"""Validation: a check is active only while the judge's labelled records bear it out.

It must fire on at least ``MIN_SUPPORT`` records, and the one-sided 95% Wilson lower bound of
its precision (the share of those carrying its label) must reach the judge's
``MemoryConfig.check_min_bound`` and exceed its label's share of all the records (a check
that fires nearly everywhere and implies the common label tells nothing the base rate does
not). The bound, not the raw precision, is what guards against luck: 3 of 3 has precision 1.0
and a lower bound of 0.53; 9 of 9 reaches 0.77. Validation reruns over all labelled records on
every alignment and forget, so new feedback that refutes a check deactivates it, and a
forgotten record's contribution leaves the figures.

Checks a model proposes (with the guidelines it writes) are validated the same way, each
reading of the proposal tried (:func:`adopt`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from memalign.checks.matching import holds, match
from memalign.records import Case, Check, Predicate

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


def holds_up(hits: int, fires: int, base_rate: float, min_bound: float) -> bool:
    """Whether ``hits`` of ``fires`` is evidence enough for a check whose label carries
    ``base_rate`` of all the records."""
    if fires < MIN_SUPPORT:
        return False
    bound = wilson_lower_bound(hits, fires)
    return bound >= min_bound and bound > base_rate


def shortfall(check: Check, min_bound: float) -> str | None:
    """Why an inactive check does not act yet, in plain words with what would change it; None
    when it is active. (It may also be held back by its label's base rate: a check implying the
    label most records carry must do better than that share.)"""
    if check.active:
        return None
    if check.fires < MIN_SUPPORT:
        return f"it fires on {check.fires} labelled record(s); it needs {MIN_SUPPORT} or more"
    bound = wilson_lower_bound(check.hits, check.fires)
    if bound < min_bound and check.hits == check.fires:
        more = 0
        while wilson_lower_bound(check.hits + more, check.fires + more) < min_bound:
            more += 1
        return (
            f"{check.hits} of {check.fires} agree, a 95% lower bound of {bound:.2f} on its "
            f"precision against the judge's {min_bound:.2f}: about {more} more agreeing "
            "record(s) would reach the bound (it must also beat its label's share of records)"
        )
    if bound < min_bound:
        return (
            f"{check.hits} of {check.fires} agree, a 95% lower bound of {bound:.2f} on its "
            f"precision against the judge's {min_bound:.2f}"
        )
    return "its precision's lower bound does no better than its label's share of all records"


def base_rates(labelled: Sequence[Labelled]) -> dict[str, float]:
    """Each label's share of all the labelled records."""
    counts = Counter(label for _, label in labelled)
    return {label: n / len(labelled) for label, n in counts.items()}


def validate(check: Check, labelled: Sequence[Labelled], min_bound: float) -> Check:
    """The check with its figures recounted on ``labelled`` and ``active`` set from them."""
    fired = [label for case, label in labelled if match(check, case)[0]]
    hits = sum(1 for label in fired if label == check.label)
    rate = base_rates(labelled).get(check.label, 0.0)
    active = holds_up(hits, len(fired), rate, min_bound)
    return check.model_copy(update={"fires": len(fired), "hits": hits, "active": active})


def reading(
    where: Predicate,
    present: bool,
    fired: Sequence[str],
    rates: Mapping[str, float],
    min_bound: float,
    *,
    only_active: bool = False,
) -> Check | None:
    """``where`` read as present or absent, as a check implying the label most of the records
    it ``fired`` on carry, with its figures; ``rates``: each label's share of all the records.
    None when it fired on none (or, ``only_active``, when it does not hold up: mining tries
    thousands of candidates and builds only the few that do)."""
    if len(fired) < (MIN_SUPPORT if only_active else 1):
        return None
    label = max(sorted(set(fired)), key=fired.count)
    hits = fired.count(label)
    active = holds_up(hits, len(fired), rates.get(label, 0.0), min_bound)
    if only_active and not active:
        return None
    return Check(
        **where.model_dump(exclude={"present"}),
        present=present,
        label=label,
        fires=len(fired),
        hits=hits,
        active=active,
    )


def adopt(proposed: Predicate, labelled: Sequence[Labelled], min_bound: float) -> Check | None:
    """A check from a predicate a model proposed without knowing the records: of its two
    readings (the rule broken where the predicate holds, or where it does not) the one the
    records bear out best, implying the label most records it fires on carry. A small model
    proposes the right pattern with the wrong direction as often as not; the records settle it.

    Kept active when it holds up; kept inactive while the evidence is merely thin (at least
    ``MIN_SUPPORT`` firings that agree more often than the bound asks and than the base rate,
    too few to prove it) so later feedback can validate it; None when the records refute every
    reading or too few of them bear on it."""
    as_proposed = [holds(proposed, case) for case, _ in labelled]
    rates = base_rates(labelled)
    best: tuple[tuple[bool, float, bool, float], Check] | None = None
    for present in (proposed.present, not proposed.present):
        wanted = present == proposed.present
        fired = [y for hit, (_, y) in zip(as_proposed, labelled, strict=True) if hit == wanted]
        check = reading(proposed, present, fired, rates, min_bound)
        if check is None or check.fires < MIN_SUPPORT:
            continue  # a label read off one or two records would stick: wait for more
        precision = check.hits / check.fires
        if not check.active and (precision <= min_bound or precision <= rates[check.label]):
            continue  # refuted, or never provable: its bound stays below its precision
        # Proven first, by the stronger evidence; while unproven, the direction as proposed.
        bound = wilson_lower_bound(check.hits, check.fires)
        rank = (check.active, bound if check.active else 0.0, wanted, bound)
        if best is None or rank > best[0]:
            best = (rank, check.model_copy(update={"proposed": True}))
    return best[1] if best else None


def revalidate(
    checks: Sequence[Check], labelled: Sequence[Labelled], min_bound: float
) -> list[Check]:
    return [validate(check, labelled, min_bound) for check in checks]
