"""Checks: declarative tests guidelines may carry (a term in a field of the case implies a
label), mined from the experts' own words and kept only where the labelled records bear them
out. A validated check can decide a verdict without a model call.

Why literal terms, and how validation guards against luck: design/checks.md."""

from memalign.checks.matching import explain, field_text, match
from memalign.checks.mining import candidate_terms, mine_checks
from memalign.checks.validation import (
    MIN_SUPPORT,
    Labelled,
    lower_bound,
    revalidate,
    validate,
    wilson_lower_bound,
)

__all__ = [
    "MIN_SUPPORT",
    "Labelled",
    "candidate_terms",
    "explain",
    "field_text",
    "lower_bound",
    "match",
    "mine_checks",
    "revalidate",
    "validate",
    "wilson_lower_bound",
]
