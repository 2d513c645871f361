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

from memalign.checks.matching import holds, match, scoped_text
from memalign.checks.validation import Labelled, base_rates, reading, wilson_lower_bound
from memalign.records import Check, CheckField, CheckPart, Place, Predicate

# Quoted spans: straight and curly quotes and backticks, 2-60 characters.
_QUOTED = re.compile(r"[\"'`\u201c\u2018]([^\"'`\u201d\u2019\n]{2,60})[\"'`\u201d\u2019]")
# A word, or a code-like name with dots, brackets, colons or operators in it.
_WORD = re.compile(r"[a-z0-9_][a-z0-9_.()*#%$:-]*")
FIELDS: tuple[CheckField, ...] = ("outputs", "inputs")
# A subject line or a footer often carries a rule a term in the whole text cannot pin down
# (a reply prefix in the subject, a line that must close the email).
PARTS: tuple[CheckPart, ...] = ("all", "first_line", "last_line")
MAX_NEW = 20
# A figure as experts quote it: 39%, 2,382, 388.5 (matched whole, so 388 is not 388.5; and
# standing alone, so the 3 of "Q3" is not a figure).
NUMBER = r"\b\d+(?:[.,]\d+)*%?"
_DIGIT = re.compile(r"\d")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "was",
        "were",
        "what",
        "when",
        "which",
        "while",
        "who",
        "will",
        "with",
        "without",
        "not",
        "no",
        "yes",
        "you",
        "your",
        "we",
        "our",
        "us",
        "i",
        "me",
        "my",
        "he",
        "she",
        "his",
        "her",
        "should",
        "must",
        "would",
        "could",
        "may",
        "might",
        "also",
        "only",
        "just",
        "more",
        "most",
        "very",
        "all",
        "any",
        "each",
        "every",
        "some",
        "such",
        "own",
        "same",
        "other",
        "here",
        "how",
        "why",
        "where",
        "about",
        "above",
        "after",
        "again",
        "against",
        "before",
        "below",
        "between",
        "both",
        "during",
        "further",
        "once",
        "out",
        "over",
        "under",
        "until",
        "up",
        "down",
        "off",
    ]
)


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
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if all(w in STOPWORDS for w in gram):
                continue
            if n == 1 and (gram[0] in STOPWORDS or len(gram[0]) < 4):
                continue
            terms.add(" ".join(gram))
    return {t for t in terms if len(t) >= 3}


def mine_checks(
    feedback: Sequence[str],
    labelled: Sequence[Labelled],
    min_bound: float,
    *,
    known: Sequence[Check] = (),
    terms: set[str] | None = None,
) -> list[Check]:
    """New validated checks from ``feedback``, none repeating a ``known`` one. ``terms``: the
    feedback's candidate terms, when the caller has them already (:func:`candidate_terms`)."""
    miner = _Miner(labelled, min_bound, known)
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
    return miner.best()


def named_by(check: Check, terms: set[str], feedback: str) -> bool:
    """Whether an expert's ``feedback`` (with its candidate ``terms``) is a source of the
    mined ``check``: it named the term, or, for a check on copied figures, quoted one."""
    if check.within is not None and check.term == NUMBER:
        return _DIGIT.search(feedback) is not None
    return check.term in terms


class _Miner:
    """Keeps the candidates the labelled records bear out; of those firing on the same
    records, the best supported and simplest."""

    def __init__(self, labelled: Sequence[Labelled], min_bound: float, known: Sequence[Check]):
        self.labels = [label for _, label in labelled]
        self.rates = base_rates(labelled)
        self.min_bound = min_bound
        self.seen = {_identity(c) for c in known}
        # A new check firing on exactly the records a known one fires on adds nothing.
        self.covered = {_signature(c, labelled) for c in known}
        self.kept: dict[tuple[int, ...], Check] = {}

    def consider(self, where: Predicate, found: Sequence[bool]) -> None:
        """``where`` (as found, present) and its negation, on the records ``found`` marks."""
        for present in (True, False):
            fired = [label for hit, label in zip(found, self.labels, strict=True)
                     if hit == present]  # fmt: skip
            check = reading(where, present, fired, self.rates, self.min_bound, only_active=True)
            if check is None:
                continue
            signature = tuple(i for i, hit in enumerate(found) if hit == present)
            if _identity(check) in self.seen or signature in self.covered:
                continue
            best = self.kept.get(signature)
            if best is None or _rank(check) > _rank(best):
                self.kept[signature] = check

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
    return (*(getattr(check, name) for name in Predicate.model_fields), check.when)


def _rank(check: Check) -> tuple[float, int, bool]:
    # Of checks firing on the same records: the best evidence, then the shortest term, then
    # the whole text over one line (the simpler rule to read).
    return wilson_lower_bound(check.hits, check.fires), -len(check.term), check.part == "all"
