"""What a forget leaves of a check mined from several pieces: the terms of a pooled check and
the clauses of a check by an input's value are each kept only while they still stand on the
records left, as mining asked of them (design/checks.md). Recounting the whole check is not
enough: a pool's other terms would keep a forgotten term deciding, on no evidence, and the
forgotten feedback's words would stay in the guideline's text."""

from __future__ import annotations

from collections.abc import Sequence

from memalign.checks.conditional import MIN_FIRES, names
from memalign.checks.matching import clause_fires, clauses, holds
from memalign.checks.mining import POOL_MIN_FIRES, candidate_terms, pooled_terms
from memalign.checks.validation import Labelled
from memalign.patterns import any_of, whole_literal
from memalign.records import Check, Predicate


def pruned(check: Check, labelled: Sequence[Labelled], named: Sequence[str]) -> Check | None:
    """``check`` without the terms or clauses the records left no longer bear out; None when
    none is left. ``named``: the feedback behind each of ``labelled``. A check of one term and
    one clause is returned as it is (its recount is validation's)."""
    if check.alternatives:
        return _clauses_left(check, labelled, named)
    terms = pooled_terms(check.term) if check.pattern else []
    if terms:
        return _terms_left(check, terms, labelled, named)
    return check


def _terms_left(
    check: Check, terms: list[str], labelled: Sequence[Labelled], named: Sequence[str]
) -> Check | None:
    said: dict[int, set[str]] = {}
    kept = []
    for term in terms:
        where = Predicate(**{**check.model_dump(include=set(Predicate.model_fields)), "term": term,
                             "pattern": False, "present": True})  # fmt: skip
        fired = [i for i, (case, _) in enumerate(labelled) if holds(where, case)]
        named_on = sum(1 for i in fired if term in said.setdefault(i, candidate_terms(named[i])))
        if len(fired) >= POOL_MIN_FIRES and named_on >= POOL_MIN_FIRES:
            kept.append(term)
    if not kept:
        return None
    if len(kept) == 1:
        return check.model_copy(update={"term": kept[0], "pattern": False})
    return check.model_copy(update={"term": any_of(kept)})


def _clauses_left(check: Check, labelled: Sequence[Labelled], named: Sequence[str]) -> Check | None:
    kept = []
    for clause in clauses(check):
        value = whole_literal(clause.when.term) if clause.when is not None else None
        fired = [i for i, (case, _) in enumerate(labelled) if clause_fires(clause, case)]
        if value is None or sum(1 for i in fired if names(named[i], value)) >= MIN_FIRES:
            kept.append(clause)
    if not kept:
        return None
    first, *rest = kept
    return Check.model_validate(
        {**check.model_dump(), **first.model_dump(), "alternatives": [c.model_dump() for c in rest]}
    )
