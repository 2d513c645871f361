"""The checks that fired on a case, and where: the text split into plain and matched parts.

The split is done here, in Python, so that the template escapes every part like any other
judged text and wraps only the matched ones in ``<mark>``; no markup is ever built from the
case's text. A check's span indexes the *lowercased* field text (``memalign.checks.match``),
which is not always aligned with the text shown: ``"İ".lower()`` is two characters. Spans are
mapped back to the original text, and spans that do not fit it (a verdict uploaded from an
earlier run may carry any numbers) are dropped rather than trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from memalign.checks import clauses, field_text
from memalign.checks import pairwise as pairs
from memalign.records import Case, Check, CheckField, CheckHit, Clause, Guideline

# (text, matched): a run of the field's text, and whether a check's term is there.
Segment = tuple[str, bool]
Span = tuple[int, int]
CONTEXT_CHARS = 80


@dataclass(frozen=True)
class FiredCheck:
    """One check that fired on the case, as the review screen lists it."""

    hit: CheckHit
    # None when the guideline has since been removed from memory (forgotten, say).
    guideline: Guideline | None
    # Where the term was found, with some text around it; None when it fired on absence.
    excerpt: list[Segment] | None

    @property
    def clause(self) -> Check | Clause | None:
        """The clause of the check that fired (a check may hold one per input value)."""
        check = self.guideline.check if self.guideline is not None else None
        if check is None:
            return None
        every = clauses(check)
        return every[self.hit.clause] if self.hit.clause < len(every) else None

    @property
    def term(self) -> str | None:
        clause = self.clause
        return clause.term if clause is not None else None

    @property
    def present(self) -> bool:
        clause = self.clause
        return self.hit.span is not None or (clause is not None and clause.present)


def original_span(text: str, span: Span, term: str | None = None) -> Span | None:
    """``span`` (in ``text.lower()``) as a span of ``text``; None when it does not fit. With
    the check's ``term`` known, a span that does not hold it is looked up again."""
    lowered = text.lower()
    start, end = span
    if not 0 <= start < end <= len(lowered):
        start, end = -1, -1
    if term and lowered[start:end] != term:
        start = lowered.find(term)
        end = start + len(term)
    if start < 0:
        return None
    if len(lowered) == len(text):
        # Lowercasing never shortens a character, so equal lengths mean aligned offsets.
        return start, end
    return _map_back(text, start, end)


def _map_back(text: str, start: int, end: int) -> Span:
    """Offsets in ``text.lower()`` to offsets in ``text``: the characters containing them."""
    at = 0
    first = last = len(text)
    for index, char in enumerate(text):
        width = len(char.lower())
        if first == len(text) and at + width > start:
            first = index
        if at >= end:
            last = index
            break
        at += width
    return first, max(last, first + 1)


def segments(text: str, spans: Iterable[Span]) -> list[Segment]:
    """``text`` cut into runs, the ones inside any of ``spans`` (merged where they overlap)
    marked. Spans are offsets in ``text`` (see :func:`original_span`)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[Segment] = []
    at = 0
    for start, end in merged:
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def excerpt(text: str, span: Span, context: int = CONTEXT_CHARS) -> list[Segment]:
    """The match with up to ``context`` characters either side (a case may be long)."""
    start, end = span
    left, right = max(0, start - context), min(len(text), end + context)
    parts = segments(text[left:right], [(start - left, end - left)])
    if left > 0:
        parts.insert(0, ("…", False))
    if right < len(text):
        parts.append(("…", False))
    return parts


def fired_checks(
    case: Case, hits: Sequence[CheckHit], guidelines: Mapping[str, Guideline]
) -> tuple[list[FiredCheck], dict[CheckField, list[Span]]]:
    """The checks that fired, each with an excerpt, and every matched span by field (offsets
    in the field's text as :func:`memalign.checks.field_text` gives it)."""
    listed: list[FiredCheck] = []
    spans: dict[CheckField, list[Span]] = {}
    for hit in hits:
        guideline = guidelines.get(hit.guideline_id)
        check = guideline.check if guideline is not None else None
        found = None
        text = field_text(case, hit.field)
        if hit.candidate is not None:
            # On a pairwise judge the span is in that candidate's text: the excerpt shows it
            # there, and nothing is marked in the pair's combined text.
            one = pairs.candidates(case).get(hit.candidate)
            text = field_text(one, hit.field) if one is not None else ""
        if hit.span is not None:
            every = clauses(check) if check is not None else []
            clause = every[hit.clause] if hit.clause < len(every) else None
            literal = clause.term if clause is not None and not clause.pattern else None
            found = original_span(text, hit.span, literal)
        if found is not None and hit.candidate is None:
            spans.setdefault(hit.field, []).append(found)
        listed.append(
            FiredCheck(hit, guideline, excerpt(text, found) if found is not None else None)
        )
    return listed, spans
