"""Everything a memory version's decision is fitted on, once per version: the rule in force
(``decision="auto"`` resolved by memalign.judging.selection), the model's threshold or blend,
and the embedding model (over example embeddings, or over response differences for a pairwise
judge). No model call; a pairwise judge embeds the responses of its newest labelled pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memalign.judge_spec import JudgeSpec, Pairwise, Value
from memalign.judging.decision import (
    EVIDENCE_WINDOW,
    Blend,
    Threshold,
    active_checks,
    checks_fired,
    decided_by_checks,
    fit_rules,
)
from memalign.judging.embedding_model import EmbeddingModel, fit_embedding_model
from memalign.judging.pairwise_model import PairwiseModel, fit_pairwise_model, response_texts
from memalign.judging.selection import SELECTION_WINDOW, DecisionChoice, choose_decision
from memalign.records import Example, Feedback, Guideline
from memalign.stores import MemoryStore

Vectors = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vectors]
Records = dict[str, Feedback]


@dataclass(frozen=True)
class FittedDecision:
    rule: str = "llm"
    choice: DecisionChoice | None = None
    threshold: Threshold | None = None
    blend: Blend | None = None
    embedding_model: EmbeddingModel | None = None
    pairwise_model: PairwiseModel | None = None


def fit_decision(
    spec: JudgeSpec,
    store: MemoryStore,
    judge_id: int,
    embed: Embed,
    checks: Sequence[Guideline] | None = None,
) -> FittedDecision:
    """``checks``: the judge's active checks, when the caller has read them already."""
    if checks is None:
        checks = active_checks(g for g, _ in store.guidelines(judge_id))
    if not spec.memory.checks_decide:
        checks = ()  # they inform the verdict only: every rule acts on every case
    output, rule = spec.output, spec.memory.decision
    if isinstance(output, Pairwise):
        return _fit_pairwise(spec, store, judge_id, embed, checks)
    choice = None
    records: Records = {}
    if rule == "auto":
        examples, matrix = store.recent_examples(judge_id, SELECTION_WINDOW, carrying="answer")
        records = _records(store, judge_id, examples) if checks else {}
        settled = _settled(spec, checks, examples, records)
        choice = choose_decision(output, examples, matrix, settled, spec.memory.k)
        rule = choice.rule if choice is not None else "llm"
    # Fitted on every example, the threshold reads the examples that carry probabilities and
    # the memory model every example, as before the choice of fit existed. Fitted where the
    # checks leave off (design/decision.md), both read every example, so that the class totals
    # count those the checks decided, which in the review flow carry a verdict, not
    # probabilities.
    settled = None
    if choice is not None and choice.fitted_on == "undecided":
        examples, matrix = store.recent_examples(judge_id, EVIDENCE_WINDOW, carrying="any")
        # The selection read the newest records already: only the older ones are read here.
        records |= _records(store, judge_id, [e for e in examples if e.record_id not in records])
        settled = _settled(spec, checks, examples, records)
        threshold, blend = fit_rules(
            output, examples, matrix, spec.memory.k, blend=rule == "blend", settled=settled
        )
    else:
        threshold, blend = fit_rules(
            output,
            *store.recent_examples(judge_id, EVIDENCE_WINDOW),
            spec.memory.k,
            blend=rule == "blend",
        )
    embedding_model = None
    if rule in ("embedding", "combined"):
        if settled is None:
            examples, matrix = store.recent_examples(judge_id, EVIDENCE_WINDOW, carrying="any")
        left = [i for i in range(len(examples)) if settled is None or settled[i] is None]
        embedding_model = fit_embedding_model(output, [examples[i] for i in left], matrix[left])
    return FittedDecision(rule, choice, threshold, blend, embedding_model)


def _fit_pairwise(
    spec: JudgeSpec, store: MemoryStore, judge_id: int, embed: Embed, checks: Sequence[Guideline]
) -> FittedDecision:
    rule = spec.memory.decision
    if rule not in ("auto", "embedding", "combined"):
        return FittedDecision(rule)
    examples, _ = store.recent_examples(judge_id, SELECTION_WINDOW, carrying="any")
    records = _records(store, judge_id, examples)
    examples, differences = response_differences(examples, records, embed)
    choice = None
    if rule == "auto":
        settled = _settled(spec, checks, examples, records)
        choice = choose_decision(spec.output, examples, differences, settled, spec.memory.k)
        rule = choice.rule if choice is not None else "llm"
    model = None
    if rule in ("embedding", "combined"):
        winners = [str(e.label) if e.label is not None else None for e in examples]
        model = fit_pairwise_model(differences, winners)
    return FittedDecision(rule, choice, pairwise_model=model)


def _records(store: MemoryStore, judge_id: int, examples: Sequence[Example]) -> Records:
    return {r.id: r for r in store.get_records(judge_id, [e.record_id for e in examples])}


def _settled(
    spec: JudgeSpec, checks: Sequence[Guideline], examples: Sequence[Example], records: Records
) -> list[Value | None] | None:
    """Per example, the label the deciding checks give its record (None where they do not):
    what judging would answer before any rule runs. None when no check decides."""
    if not checks:
        return None
    settled: list[Value | None] = []
    for example in examples:
        record = records.get(example.record_id)
        fired = checks_fired(checks, record.case, spec.output) if record is not None else []
        settled.append(decided_by_checks(fired, spec.output) if fired else None)
    return settled


def response_differences(
    examples: Sequence[Example], records: Records, embed: Embed
) -> tuple[list[Example], Vectors]:
    """The examples whose record holds a pair of responses, and for each the embedding of
    response A minus that of response B."""
    kept: list[Example] = []
    texts: list[str] = []
    for example in examples:
        record = records.get(example.record_id)
        pair = response_texts(record.case) if record is not None else None
        if pair is not None:
            kept.append(example)
            texts += pair
    if not kept:
        return [], np.zeros((0, 0), dtype=np.float32)
    vectors = embed(texts)
    return kept, np.asarray(vectors[0::2] - vectors[1::2], dtype=np.float32)
