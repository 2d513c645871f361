"""Checks on pairwise judges run on each candidate. A pairwise record labelled A says A wins
and B loses, so it gives two labelled candidates; a check on a candidate implies ``wins`` or
``loses``, and the pair is decided when the checks set one candidate above the other (A loses
and B does not; A wins and B loses; …). A tie, or checks that contradict each other on one
candidate, leaves the pair to the model."""

from __future__ import annotations

from collections.abc import Sequence

from memalign.checks.validation import Labelled
from memalign.records import Case, CheckHit

WINS, LOSES = "wins", "loses"
LABELS = (WINS, LOSES)
SIDES = ("A", "B")


def candidates(case: Case) -> dict[str, Case]:
    """Each candidate of a pairwise case as a case of its own (the same inputs and
    expectations); empty when the outputs are not a pair named A and B."""
    outputs = case.outputs
    if not isinstance(outputs, dict) or not all(side in outputs for side in SIDES):
        return {}
    return {side: case.model_copy(update={"outputs": outputs[side]}) for side in SIDES}


def labelled_candidates(case: Case, winner: str) -> list[Labelled]:
    """The record's two candidates labelled ``wins`` and ``loses``; none for a tie."""
    if winner not in SIDES:
        return []
    return [(one, WINS if side == winner else LOSES) for side, one in candidates(case).items()]


def pick(hits: Sequence[CheckHit]) -> str | None:
    """The candidate the checks set above the other, or None."""
    scores: dict[str, int] = {}
    for side in SIDES:
        said = {hit.label for hit in hits if hit.candidate == side}
        if len(said) > 1:
            return None  # the checks contradict each other on this candidate
        scores[side] = {WINS: 1, LOSES: -1}.get(said.pop(), 0) if said else 0
    if scores["A"] == scores["B"]:
        return None
    return "A" if scores["A"] > scores["B"] else "B"


def contradicts(hit: CheckHit, value: str) -> bool:
    """Whether a fired check says otherwise than the verdict ``value``."""
    if hit.candidate is None:
        return hit.label != value
    chosen = hit.candidate == value
    return chosen if hit.label == LOSES else not chosen
