"""Candidate checks from what the experts wrote: the phrases they quote, the names they use
(`except:`, `print()`, `SELECT *`), and short n-grams of their feedback. N-grams made only of
function words are never candidates: a probe kept the chance phrase "to a" (10 of 10 failing
items) before this rule. Each candidate is tried present and absent, in the outputs and the
inputs, validated, and kept only if it holds; of checks that fire on exactly the same records,
the best supported and shortest is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memalign.checks.conditional import cites, conditional_checks
from memalign.checks.matching import holds, match, scoped_text
from memalign.checks.phrases import phrases
from memalign.checks.validation import Labelled, base_rates, reading, wilson_lower_bound
from memalign.patterns import MAX_PATTERN_CHARS, any_of, literals
from memalign.records import Case, Check, CheckField, CheckPart, Place, Predicate

# Quoted spans: straight and curly quotes and backticks, 2-60 characters.
_QUOTED = re.compile(r"[\"'`\u201c\u2018]([^\"'`\u201d\u2019\n]{2,60})[\"'`\u201d\u2019]")
# A word, or a code-like name with dots, brackets, colons or operators in it.
_WORD = re.compile(r"[a-z0-9_][a-z0-9_.()*#%$:-]*")
FIELDS: tuple[CheckField, ...] = ("outputs", "inputs")
# A subject line or a footer often carries a rule a term in the whole text cannot pin down
# (a reply prefix in the subject, a line that must close the email).
PARTS: tuple[CheckPart, ...] = ("all", "first_line", "last_line")
MAX_NEW = 20
# A term pooled with others must fire on at least this many records, every one of one label.
POOL_MIN_FIRES = 2
POOL_MAX_TERMS = 8
# A figure as experts quote it: 39%, 2,382, 388.5 (matched whole, so 388 is not 388.5; and
# standing alone, so the 3 of "Q3" is not a figure).
NUMBER = r"\b\d+(?:[.,]\d+)*%?"
_DIGIT = re.compile(r"\d")


def candidate_terms(feedback: str) -> set[str]:
    text = feedback.lower()
    terms = {m.group(1).strip() for m in _QUOTED.finditer(text)}
    # Sentence punctuation is not part of a name, but a trailing colon may be (`except:`):
    # both spellings are tried, and validation keeps whichever the records bear out.
    raw = [w.strip(".,-") for w in _WORD.findall(text.replace("/", " "))]
    words = [w for w in raw if w]
    terms |= {w.rstrip(":") for w in words if w.endswith(":") and len(w) > 4}
    # A short prefix the experts name ("no Re:/Fwd: in the subject") is a candidate too; in a
    # whole text it fires on "here:" as well, in the first line it may pin the rule down.
    terms |= {w for w in words if w.endswith(":") and 3 <= len(w) <= 5 and w[:-1].isalpha()}
    terms |= phrases(words)
    return {t for t in terms if len(t) >= 3}


def mine_checks(
    feedback: Sequence[str],
    labelled: Sequence[Labelled],
    min_bound: float,
    *,
    known: Sequence[Check] = (),
    terms: set[str] | None = None,
    named: Sequence[str] | None = None,
    fresh: Sequence[Labelled] = (),
) -> list[Check]:
    """New validated checks from ``feedback``, none repeating a ``known`` one. ``terms``: the
    feedback's candidate terms, when the caller has them already (:func:`candidate_terms`).

    ``named``: per labelled record, its own feedback. With it, terms the experts named on
    the records they fire on, too rare to hold up alone, are also pooled into one check
    (:meth:`_Miner.pooled`); and with ``fresh``, the batch's labelled records, checks with
    a clause per value of a categorical input are tried (:mod:`memalign.checks.conditional`).
    """
    miner = _Miner(labelled, min_bound, known, named)
    if terms is None:
        terms = set().union(*(candidate_terms(text) for text in feedback))
    # Each place a check may look, as lowercased text per record, computed once.
    places = {
        (field, part): [scoped_text(case, Predicate(term="?", field=field, part=part)).lower()
                        for case, _ in labelled]
        for field in FIELDS
        for part in PARTS
    }  # fmt: skip
    for term in sorted(terms):
        for (field, part), texts in places.items():
            found = [term in text for text in texts]
            if any(found):  # named by the expert and found in a case: worth trying
                miner.consider(Predicate(term=term, field=field, part=part), found)
    if any(_DIGIT.search(text) for text in feedback):
        # The experts quote figures: try "a number in the outputs not copied from the input".
        for place in _text_inputs(labelled):
            probe = Predicate(term=NUMBER, pattern=True, within=place)
            miner.consider(probe, [holds(probe, case) for case, _ in labelled])
    miner.pooled()
    if named is not None and fresh:
        for check in conditional_checks(fresh, labelled, named, miner.rates, min_bound):
            miner.add(check, _signature(check, labelled))
    return miner.best()


def named_by(check: Check, terms: set[str], feedback: str, case: Case | None = None) -> bool:
    """Whether an expert's ``feedback`` (with its candidate ``terms``) on ``case`` is a source
    of the mined ``check``: it named the term, or, for a check on copied figures, quoted one;
    for a check with a clause per value of an input, the check fires on the case and the
    feedback names the value."""
    if check.when is not None:
        return case is not None and cites(check, case, feedback)
    if check.within is not None and check.term == NUMBER:
        return _DIGIT.search(feedback) is not None
    if check.pattern:
        return any(term in terms for term in pooled_terms(check.term))
    return check.term in terms


def pooled_terms(pattern: str) -> list[str]:
    """The literal terms of a pooled check's pattern (:meth:`_Miner.pooled`); none for a
    pattern that is not such an alternation of two or more literals."""
    terms = literals(pattern)
    return terms if len(terms) > 1 else []


class _Miner:
    """Keeps the candidates the labelled records bear out; of those firing on the same
    records, the best supported and simplest."""

    def __init__(
        self,
        labelled: Sequence[Labelled],
        min_bound: float,
        known: Sequence[Check],
        named: Sequence[str] | None = None,
    ):
        self.labels = [label for _, label in labelled]
        if named is not None and len(named) != len(labelled):
            raise ValueError("named needs one feedback text per labelled record")
        self.named = named
        self._terms: dict[int, set[str]] = {}
        self.rates = base_rates(labelled)
        self.min_bound = min_bound
        self.seen = {_identity(c) for c in known}
        # A new check firing on exactly the records a known one fires on adds nothing.
        self.covered: set[tuple[int, ...]] = set()
        # Per label, the records an active known check implying it fires on.
        self.decided: dict[str, set[int]] = {}
        for check in known:
            signature = _signature(check, labelled)
            self.covered.add(signature)
            if check.active:
                self.decided.setdefault(check.label, set()).update(signature)
        self.kept: dict[tuple[int, ...], Check] = {}
        self.narrow: dict[
            tuple[CheckField, str | None, CheckPart, str], dict[frozenset[int], str]
        ] = {}

    def consider(self, where: Predicate, found: Sequence[bool]) -> None:
        """``where`` (as found, present) and its negation, on the records ``found`` marks."""
        for present in (True, False):
            fired = [label for hit, label in zip(found, self.labels, strict=True)
                     if hit == present]  # fmt: skip
            check = reading(where, present, fired, self.rates, self.min_bound, only_active=True)
            if check is None:
                if present and not where.pattern and where.within is None:
                    self._narrow(where, found, fired)
                continue
            signature = tuple(i for i, hit in enumerate(found) if hit == present)
            if _identity(check) in self.seen or signature in self.covered:
                continue
            best = self.kept.get(signature)
            if best is None or _rank(check) > _rank(best):
                self.kept[signature] = check

    def _narrow(self, where: Predicate, found: Sequence[bool], fired: Sequence[str]) -> None:
        """A term found on too few records to hold up alone, all of one label: a candidate to
        pool with others the experts named for the same place and label."""
        if self.named is None or len(fired) < POOL_MIN_FIRES or len(set(fired)) != 1:
            return
        signature = frozenset(i for i, hit in enumerate(found) if hit)
        # The experts named it on the records it fires on, not only somewhere in the batch.
        if sum(1 for i in signature if where.term in self._named_on(i)) < POOL_MIN_FIRES:
            return
        group = self.narrow.setdefault((where.field, where.key, where.part, fired[0]), {})
        best = group.get(signature)
        if best is None or (len(where.term), where.term) < (len(best), best):
            group[signature] = where.term

    def _named_on(self, i: int) -> set[str]:
        """The candidate terms of the feedback on labelled record ``i``, read once."""
        if i not in self._terms:
            self._terms[i] = candidate_terms(self.named[i]) if self.named is not None else set()
        return self._terms[i]

    def pooled(self) -> None:
        """For each place and label, the narrow terms taken together as one check that fires
        when any of them is found (an RE2 alternation of the literals), kept as any candidate
        is, if it holds up as one check. A term joins only if it fires on records no active
        check with its label decides and no term already pooled covers: the pool is for what
        the checks leave, not a restatement of them (design/checks.md, "Pooled terms")."""
        places = sorted(self.narrow.items(), key=lambda item: repr(item[0]))
        for (field, key, part, label), group in places:
            taken = self.taken().get(label, set())
            members: list[str] = []
            covered: set[int] = set()
            # The terms firing on the most records first; of equals, the shortest.
            for records, term in sorted(group.items(), key=lambda item: (-len(item[0]), item[1])):
                if records <= covered | taken or len(members) >= POOL_MAX_TERMS:
                    continue
                if len(any_of([*members, term])) > MAX_PATTERN_CHARS:
                    continue
                members.append(term)
                covered |= records
            if len(members) < 2:
                continue
            where = Predicate(term=any_of(members), pattern=True, field=field, key=key, part=part)
            fired = [self.labels[i] for i in sorted(covered)]
            check = reading(where, True, fired, self.rates, self.min_bound, only_active=True)
            if check is not None:
                self.add(check, tuple(sorted(covered)))

    def taken(self) -> dict[str, set[int]]:
        """Per label, the records an active known check or a check kept here decides."""
        taken = {label: set(fired) for label, fired in self.decided.items()}
        for fired, check in self.kept.items():
            taken.setdefault(check.label, set()).update(fired)
        return taken

    def add(self, check: Check, signature: tuple[int, ...]) -> None:
        """A check built from several candidates, kept unless it repeats a known one."""
        if _identity(check) not in self.seen and signature not in self.covered:
            self.kept.setdefault(signature, check)

    def best(self) -> list[Check]:
        return sorted(self.kept.values(), key=_rank, reverse=True)[:MAX_NEW]


def _text_inputs(labelled: Sequence[Labelled]) -> list[Place]:
    """The inputs a text could be copied from: each named input that is text in every record,
    or the inputs as a whole when they are one text."""
    cases = [case for case, _ in labelled]
    if cases and all(isinstance(case.inputs, str) for case in cases):
        return [Place(field="inputs")]
    keys: set[str] | None = None
    for case in cases:
        inputs = case.inputs if isinstance(case.inputs, dict) else {}
        named = {k for k, v in inputs.items() if isinstance(k, str) and isinstance(v, str)}
        keys = named if keys is None else keys & named
    return [Place(field="inputs", key=key) for key in sorted(keys or ())]


def _signature(check: Check, labelled: Sequence[Labelled]) -> tuple[int, ...]:
    return tuple(i for i, (case, _) in enumerate(labelled) if match(check, case)[0])


def _identity(check: Check) -> tuple[object, ...]:
    """What makes two checks the same test: where and what they look for, and when; not the
    label they imply nor their figures."""
    return (
        *(getattr(check, name) for name in Predicate.model_fields),
        check.when,
        check.alternatives,
    )


def _rank(check: Check) -> tuple[float, int, bool]:
    # Of checks firing on the same records: the best evidence, then the shortest term, then
    # the whole text over one line (the simpler rule to read).
    return wilson_lower_bound(check.hits, check.fires), -len(check.term), check.part == "all"
