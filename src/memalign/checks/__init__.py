"""Checks: declarative tests guidelines may carry (a term in a field of the case implies a
label), mined from the experts' own words and kept only where the labelled records bear them
out. A validated check can decide a verdict without a model call.

Why literal terms, and how validation guards against luck: design/checks.md."""

from memalign.checks.matching import (
    clauses,
    describe,
    explain,
    field_text,
    fired_clause,
    holds,
    match,
    scoped_text,
)
from memalign.checks.mining import candidate_terms, mine_checks, named_by
from memalign.checks.pruning import pruned
from memalign.checks.syntax import parse_condition, parse_place, spell_condition, spelled_check
from memalign.checks.validation import (
    MIN_SUPPORT,
    Labelled,
    adopt,
    lower_bound,
    revalidate,
    shortfall,
    validate,
    wilson_lower_bound,
)

__all__ = [
    "MIN_SUPPORT",
    "Labelled",
    "adopt",
    "candidate_terms",
    "clauses",
    "describe",
    "explain",
    "field_text",
    "fired_clause",
    "holds",
    "lower_bound",
    "match",
    "mine_checks",
    "named_by",
    "parse_condition",
    "parse_place",
    "pruned",
    "revalidate",
    "scoped_text",
    "shortfall",
    "spell_condition",
    "spelled_check",
    "validate",
    "wilson_lower_bound",
]
