"""A pairwise judge deciding by its responses' embeddings: the antisymmetric model, and auto."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from memalign import Feedback, Judge, JudgeSpec, MemoryConfig, Pairwise
from memalign.judging.pairwise_model import fit_pairwise_model, response_texts
from memalign.judging.selection import choose_decision
from memalign.records import Case, Example
from memalign.testing import HashEmbedder

from .samples import WORDS, unsure_llm


def _pair(i: int) -> tuple[str, str, str]:
    """Two responses; the one that hedges ("maybe") loses. A wins on even i."""
    good, bad = f"{WORDS[i % 10]} exact figures", f"{WORDS[(i + 3) % 10]} maybe roughly"
    return (good, bad, "A") if i % 2 == 0 else (bad, good, "B")


def _differences(n: int) -> tuple[np.ndarray, list[str]]:
    embed = HashEmbedder(64).embed
    rows = [_pair(i) for i in range(n)]
    a = np.asarray(embed([r[0] for r in rows]), dtype=np.float32)
    b = np.asarray(embed([r[1] for r in rows]), dtype=np.float32)
    return a - b, [r[2] for r in rows]


def test_the_model_learns_the_preference_and_swapping_the_responses_swaps_its_answer() -> None:
    differences, winners = _differences(40)
    model = fit_pairwise_model(differences, winners)
    assert model is not None and model.examples == 40
    embed = HashEmbedder(64).embed
    good, bad = (np.asarray(v, dtype=np.float32) for v in embed(["kilo exact", "kilo maybe"]))
    assert model.predict(good - bad) == "A" and model.predict(bad - good) == "B"
    assert abs(model.margin(good - bad) + model.margin(bad - good)) < 1e-9
    assert fit_pairwise_model(differences[:10], winners[:10]) is None  # too few pairs
    assert fit_pairwise_model(differences, ["tie"] * 40) is None  # ties are not learnt


def test_auto_chooses_the_responses_embeddings_when_the_model_guesses() -> None:
    differences, winners = _differences(40)
    examples = [
        Example(record_id=f"r{i}", key_text="", case_text="", label=w,
                judge_probs={"A": 0.6, "B": 0.4})  # always A: right half the time
        for i, w in enumerate(winners)
    ]  # fmt: skip
    choice = choose_decision(Pairwise(allow_tie=False), examples, differences)
    assert choice is not None and choice.rule in ("embedding", "combined")
    assert dict(choice.scores)["llm"] == 0.5


def test_response_texts_reads_a_pair_and_refuses_anything_else() -> None:
    assert response_texts(Case(outputs={"A": "one", "B": "two"})) == ("one", "two")
    assert response_texts(Case(outputs="just one")) is None


def test_a_pairwise_judge_under_auto_decides_by_its_responses(
    make_judge: Callable[..., Judge],
) -> None:
    spec = JudgeSpec(
        name="summaries",
        instructions="Which summary of {{ inputs }} is better: {{ outputs }}?",
        output=Pairwise(allow_tie=False),
        memory=MemoryConfig(checks=False),
    )
    judge = make_judge(spec, llm=unsure_llm("A", "B"), embedder=HashEmbedder(64))
    records = []
    for i in range(40):
        a, b, winner = _pair(i)
        records.append(Feedback(id=f"r{i}", inputs="a report", outputs={"A": a, "B": b},
                                label=winner))  # fmt: skip
    judge.align(records)
    snapshot = judge.snapshot()
    assert snapshot.rule in ("embedding", "combined") and snapshot.pairwise_model is not None
    verdict = judge.judge(inputs="a report", outputs={"A": "golf maybe roughly", "B": "golf exact"})
    assert verdict.value == "B" and "pairwise model" in (verdict.decision or "")
    assert verdict.usage.embedded_texts >= 2  # the two responses, metered
    llm_only = replace(spec, name="pinned", memory=MemoryConfig(checks=False, decision="llm"))
    pinned = make_judge(llm_only, llm=unsure_llm("A", "B"), embedder=HashEmbedder(64))
    pinned.align(records)
    assert pinned.snapshot().pairwise_model is None
    assert (
        pinned.judge(inputs="a report", outputs={"A": "golf maybe", "B": "golf exact"}).value == "A"
    )
