"""Rules that hold only where an input says so: "the footer must carry *the audience region's*
risk disclaimer". No one term is missing from every failing email (a UK email must say
"capital at risk", a US one "FDIC insured"), and each region's clause alone fires on a few
records, too few to prove. Mined as one check with a clause per value of the input
(design/checks.md, "Clauses by an input's value"):

- the condition: a whole value of a categorical input (a named input with 2–12 short values)
  that the experts name, as the data spells it, in the feedback of the records the clause
  fires on ("US" holds for the value "US", not for "Austria");
- the clause: "TERM is missing from the outputs, where the input holds that value", TERM being
  words every record of one label under that value shares, in this alignment's batch;
- each clause must fire on records of one label only (at least 2), and no record of that
  label under another value may carry its term (a term every value needs is no condition);
- the clauses together are validated as one check, kept even where the active checks
  decide every record it fires on (each broke a second rule too): unseen cases may break this
  rule alone.

Terms here come from the records, not the experts' words: the experts name the condition
("UK recipients must get the UK wording") and rarely quote the wording itself. Naming the
value where the clause fires, one label throughout, and the bound over all the clauses
together are what keep luck out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memalign.checks.matching import clause_fires, clauses, field_text, holds
from memalign.checks.phrases import STOPWORDS, phrases
from memalign.checks.validation import Labelled, reading
from memalign.patterns import whole, whole_literal
from memalign.records import MAX_CLAUSES, Case, Check, Clause, Predicate

MAX_VALUES = 12
MAX_VALUE_CHARS = 40
# Records of one label under a value whose shared words are read: fewer share words by chance.
MIN_SHARED = 3
MIN_FIRES = 2
_TOKEN = re.compile(r"\w+")
_WORD = re.compile(r"[a-z0-9_][a-z0-9_'-]*")
# (the records a clause fires on, the clause, whether a word of its term is in their feedback)
Option = tuple[frozenset[int], Clause, bool]


def categories(labelled: Sequence[Labelled]) -> dict[str, list[str]]:
    """Per named input, its values as first spelled, where the input looks like a category:
    every record's value short text, 2 to 12 distinct (ignoring case)."""
    values: dict[str, dict[str, str]] = {}
    spoiled: set[str] = set()
    for case, _ in labelled:
        inputs = case.inputs if isinstance(case.inputs, dict) else {}
        for key, value in inputs.items():
            if not isinstance(key, str):
                continue
            if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_VALUE_CHARS:
                spoiled.add(key)
                continue
            values.setdefault(key, {}).setdefault(value.strip().lower(), value.strip())
    return {
        key: sorted(spelled.values())
        for key, spelled in sorted(values.items())
        if key not in spoiled and 2 <= len(spelled) <= MAX_VALUES
    }


def conditional_checks(
    fresh: Sequence[Labelled],
    labelled: Sequence[Labelled],
    named: Sequence[str],
    rates: dict[str, float],
    min_bound: float,
) -> list[Check]:
    """The checks with one clause per value of a categorical input, from the ``fresh``
    records' shared words, validated on ``labelled`` (``named``: each one's feedback)."""
    outputs = [field_text(case, "outputs").lower() for case, _ in labelled]
    labels = [label for _, label in labelled]
    tokens: dict[int, list[str]] = {}

    def words(i: int) -> list[str]:
        """Record ``i``'s feedback as words, split once for every term and value tried."""
        if i not in tokens:
            tokens[i] = _TOKEN.findall(named[i])
        return tokens[i]

    found: list[Check] = []
    for key, values in categories(labelled).items():
        # The whole value, so that "US" holds for "US" and not for "Austria".
        conditions = {v: Predicate(term=whole(v), pattern=True, field="inputs", key=key)
                      for v in values}  # fmt: skip
        under = {v: [i for i, (case, _) in enumerate(labelled) if holds(c, case)]
                 for v, c in conditions.items()}  # fmt: skip
        texts: dict[tuple[str, str], list[str]] = {}
        for case, label in fresh:
            for value, condition in conditions.items():
                if holds(condition, case):
                    texts.setdefault((value, label), []).append(field_text(case, "outputs").lower())
        options: dict[str, list[Option]] = {}
        for (value, label), group in sorted(texts.items()):
            if len(group) < MIN_SHARED:
                continue
            # A term every value needs is no condition: only wording no record of the label
            # under another value carries is the value's own.
            elsewhere = [t for (v, y), g in texts.items() if y == label and v != value for t in g]
            for term in sorted(set.intersection(*(_grams(text) for text in group))):
                if any(term in text for text in elsewhere):
                    continue
                fired = [i for i in under[value] if term not in outputs[i]]
                if len(fired) < MIN_FIRES or any(labels[i] != labels[fired[0]] for i in fired):
                    continue
                value_words = _TOKEN.findall(value)
                if sum(1 for i in fired if _contains(words(i), value_words)) < MIN_FIRES:
                    continue
                said = any(_shares_a_word(term, words(i)) for i in fired)
                clause = Clause(term=term, present=False, field="outputs", when=conditions[value])
                options.setdefault(labels[fired[0]], []).append((frozenset(fired), clause, said))
        for _, offered in sorted(options.items()):
            check = _one_check(offered, labels, rates, min_bound)
            if check is not None:
                found.append(check)
    return found


def _one_check(
    offered: list[Option],
    labels: Sequence[str],
    rates: dict[str, float],
    min_bound: float,
) -> Check | None:
    """One clause per value — the most firing; of equals, one sharing a word with the experts'
    feedback ("at risk", where they wrote "no risk disclaimer"), then the shortest — each
    adding records an earlier clause does not cover; the clauses as one check if it holds up."""
    best: dict[str, tuple[tuple[int, bool, int, str], frozenset[int], Clause]] = {}
    for fired, clause, said in offered:
        value = clause.when.term if clause.when is not None else ""
        rank = (-len(fired), not said, len(clause.term), clause.term)
        if value not in best or rank < best[value][0]:
            best[value] = (rank, fired, clause)
    chosen: list[Clause] = []
    covered: set[int] = set()
    for _, fired, clause in sorted(best.values(), key=lambda item: item[0]):
        if not fired <= covered and len(chosen) < MAX_CLAUSES:
            chosen.append(clause)
            covered |= fired
    # Unlike a pooled term, a clause is kept even where active checks decide every record it
    # fires on (each also broke another rule): its own guards (the value named where it fires,
    # wording no other value shares) stand in, and unseen cases may break this rule alone.
    # Requiring new records lost the region check on a seed whose training emails with a
    # wrong disclaimer all broke a second rule too.
    if not chosen:
        return None
    first, *rest = chosen
    where = Predicate(**first.model_dump(exclude={"when"}))
    fired_labels = [labels[i] for i in sorted(covered)]
    check = reading(where, False, fired_labels, rates, min_bound, only_active=True)
    if check is None:
        return None
    return check.model_copy(update={"when": first.when, "alternatives": tuple(rest)})


def cites(check: Check, case: Case, feedback: str) -> bool:
    """Whether a record is a source of a check with conditions: a clause whose condition is a
    whole value fires on its case, and its feedback names that value as spelled."""
    for clause in clauses(check):
        value = whole_literal(clause.when.term) if clause.when is not None else None
        if value and clause_fires(clause, case) and names(feedback, value):
            return True
    return False


def names(feedback: str, value: str) -> bool:
    """Whether ``feedback`` names ``value`` as a word or words, spelled as the data spells it
    (so the region "US" is not the pronoun "us")."""
    return _contains(_TOKEN.findall(feedback), _TOKEN.findall(value))


def _contains(words: list[str], run: list[str]) -> bool:
    """Whether ``run`` occurs in ``words`` as consecutive words, spelled the same."""
    n = len(run)
    return n > 0 and any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _shares_a_word(term: str, feedback: Sequence[str]) -> bool:
    """Whether the experts' ``feedback`` (its words) uses a word of ``term`` other than a
    function word."""
    wanted = {w for w in _TOKEN.findall(term) if w not in STOPWORDS}
    return not wanted.isdisjoint(w.lower() for w in feedback)


def _grams(text: str) -> set[str]:
    return phrases(_WORD.findall(text.lower()))
