"""Reading P(choice) from token log-probabilities, shared by every provider that has them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def _clean(token: str) -> str:
    return token.strip().strip('"').strip().casefold()


def choice_probs_from_top(
    alternatives: Iterable[tuple[str, float]], choices: tuple[str, ...]
) -> dict[str, float] | None:
    """Map the top alternatives for the token where the value starts onto ``choices``.

    A token counts for a choice when it is a non-empty prefix of exactly one choice (so "Pa"
    counts for "Pass"); probabilities of several tokens for one choice add up. None when no
    alternative matches any choice.
    """
    probs = dict.fromkeys(choices, 0.0)
    matched = False
    for token, logprob in alternatives:
        piece = _clean(token)
        if not piece:
            continue
        hits = [c for c in choices if c.casefold().startswith(piece)]
        exact = [c for c in hits if c.casefold() == piece]
        if len(exact) == 1:
            hits = exact
        if len(hits) == 1:
            probs[hits[0]] += math.exp(logprob)
            matched = True
    return probs if matched else None


def value_offset(text: str, value_text: str) -> int | None:
    """Character offset where the answer's value starts in a JSON verdict, if found."""
    key = text.rfind('"value"')
    if key < 0:
        return None
    start = text.find(value_text, key + len('"value"'))
    return start if start >= 0 else None


def token_at(offsets: Mapping[int, int], position: int) -> int | None:
    """Index of the token covering ``position`` given {token index: start offset}."""
    best = None
    for index, start in sorted(offsets.items(), key=lambda item: item[1]):
        if start <= position:
            best = index
        else:
            break
    return best
