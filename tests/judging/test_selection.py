"""decision="auto": the rule chosen per judge by cross-validation on memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from memalign import FloatScore, InputError, Judge, JudgeSpec, Labels, MemoryConfig, Scale
from memalign.judging.selection import MARGIN, MIN_ROWS, choose_decision
from memalign.providers import Completion, CompletionRequest
from memalign.records import Example
from memalign.testing import FakeLLM, HashEmbedder, ScriptedLLM

from .samples import WORDS, separable_records, unsure_llm

BINARY = Labels(("Pass", "Fail"))


def _memory(
    n: int, probs: Callable[[int, str], dict[str, float] | None], value: str | None = None
) -> tuple[list[Example], np.ndarray]:
    """Examples whose embeddings separate the labels (the word "unsafe" marks Fail) and whose
    recorded model probabilities come from ``probs``."""
    texts = [
        f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} {'unsafe' if i % 2 else 'tidy'}" for i in range(n)
    ]
    vectors = np.asarray(HashEmbedder(64).embed(texts), dtype=np.float32)
    examples = []
    for i, text in enumerate(texts):
        label = "Fail" if i % 2 else "Pass"
        examples.append(Example(record_id=f"r{i}", key_text=text, case_text=text, label=label,
                                judge_probs=probs(i, label), judge_value=value))  # fmt: skip
    return examples, vectors


def _noise(i: int, label: str) -> dict[str, float]:
    # A model with no idea of the rule: its probabilities follow the record's position.
    p = 0.3 + 0.4 * ((i * 7) % 5) / 4
    return {"Pass": p, "Fail": 1 - p}


def _sharp(i: int, label: str) -> dict[str, float]:
    return {"Pass": 0.9, "Fail": 0.1} if label == "Pass" else {"Pass": 0.2, "Fail": 0.8}


def test_embeddings_are_chosen_when_the_model_cannot_tell_the_labels_apart() -> None:
    choice = choose_decision(BINARY, *_memory(40, _noise))
    assert choice is not None and choice.rule in ("embedding", "combined", "vote")
    scores = dict(choice.scores)
    assert set(scores) == {"llm", "embedding", "combined", "vote"} and choice.support == 40
    assert scores[choice.rule] >= scores["llm"] + MARGIN
    assert f"auto chose {choice.rule}" in choice.describe()


def test_the_model_stays_in_the_decision_when_it_is_right() -> None:
    choice = choose_decision(BINARY, *_memory(40, _sharp))
    # The incumbent sums the model's log-odds with the embedding model's; memory alone (the
    # embedding model, the vote) cannot beat a model that is always right.
    assert choice is not None and choice.rule == "combined"
    assert dict(choice.scores)["llm"] == 1.0


def test_too_little_memory_or_no_rules_to_choose_from_leave_the_model_deciding() -> None:
    assert choose_decision(BINARY, *_memory(MIN_ROWS - 1, _noise)) is None
    assert choose_decision(FloatScore(0, 1), *_memory(40, _noise)) is None
    # No recorded answer of the model at all: nothing to compare the embeddings against.
    assert choose_decision(BINARY, *_memory(40, lambda i, label: None)) is None


def test_recorded_verdicts_stand_in_for_probabilities() -> None:
    # The review flow keeps the judge's verdicts; a judge that always said Pass is at chance.
    choice = choose_decision(BINARY, *_memory(40, lambda i, label: None, value="Pass"))
    assert choice is not None and dict(choice.scores)["llm"] == 0.5
    assert choice.rule == "embedding" and "combined" not in dict(choice.scores)


def test_a_verdict_the_checks_gave_is_no_evidence_of_the_model() -> None:
    # Alignment records the checks' verdict on the records they decide; it always matches the
    # expert, so read as the model's answer it would credit the model with the checks' work.
    examples, matrix = _memory(40, lambda i, label: None)
    by_checks = [
        e.model_copy(update={"judge_value": e.label, "decided_by_checks": True}) for e in examples
    ]
    assert choose_decision(BINARY, by_checks, matrix) is None
    as_model = [e.model_copy(update={"judge_value": e.label}) for e in examples]
    assert dict(choose_decision(BINARY, as_model, matrix).scores)["llm"] == 1.0  # type: ignore[union-attr]


def test_a_scale_is_chosen_by_concordance() -> None:
    examples, matrix = _memory(40, lambda i, label: {"3": 1.0})
    scored = [e.model_copy(update={"label": "1" if e.label == "Fail" else "5"}) for e in examples]
    choice = choose_decision(Scale(1, 5), scored, matrix)
    assert choice is not None and choice.metric == "CCC" and choice.rule == "embedding"
    assert dict(choice.scores)["llm"] == pytest.approx(0.0)
    assert "vote" not in dict(choice.scores)  # a rule for two labels only


@pytest.mark.parametrize("sharp", [False, True])
def test_a_judge_under_auto_decides_as_its_memory_chose(
    make_judge: Callable[..., Judge], spec: JudgeSpec, sharp: bool
) -> None:
    def model(request: CompletionRequest) -> Completion | str:
        if request.purpose != "judge":
            return FakeLLM().complete(request)
        case = request.messages[-1].content.rsplit("Case to judge", 1)[-1]
        fail = sharp and "unsafe" in case
        value, p = ("Fail", 0.2) if fail else ("Pass", 0.55)
        return Completion(text=f'{{"rationale": "r", "value": "{value}"}}',
                          choice_probs={"Pass": p, "Fail": 1 - p})  # fmt: skip

    judge = make_judge(
        replace(spec, memory=MemoryConfig(checks=False)),
        llm=ScriptedLLM(model),
        embedder=HashEmbedder(64),
    )
    assert spec.memory.decision == "auto"
    judge.align(separable_records())
    snapshot = judge.snapshot()
    assert snapshot.choice is not None and snapshot.rule == snapshot.choice.rule
    verdict = judge.judge(outputs="kilo unsafe")
    assert verdict.value == "Fail"
    if sharp:
        assert snapshot.rule == "combined" and "model log-odds" in (verdict.decision or "")
        assert judge.judge(outputs="kilo tidy").value == "Pass"
    else:
        assert snapshot.rule in ("embedding", "combined", "vote")
        assert "P(first label)" not in (verdict.decision or "")


def test_rules_are_scored_after_the_checks_so_cases_they_settle_count_for_every_rule() -> None:
    examples, matrix = _memory(40, _noise)
    # The checks settle every Fail: what is left is all Pass, which the embedding model, fitted
    # on every example, gets right; fitted on what the checks leave (one label) it is not
    # fitted at all, and the threshold fitted there answers Pass. A tie keeps the fit on all.
    settled = ["Fail" if e.label == "Fail" else None for e in examples]
    choice = choose_decision(BINARY, examples, matrix, settled)
    assert choice is not None
    scores = dict(choice.scores)
    assert set(scores) == {"llm", "embedding", "combined", "vote"}
    assert scores["embedding"] == 1.0 and scores["llm"] < 1.0
    assert choice.fitted_on == "all" and dict(choice.by_scope) == {"all": 1.0, "undecided": 1.0}
    assert "fitted on all examples (1.00 against 1.00" in choice.describe()


def test_the_rules_are_fitted_on_what_the_checks_leave_when_the_folds_say_so() -> None:
    # Two Fails to each Pass, and nothing in the embeddings or the model's answers (Fail for
    # every case) tells them apart. The checks catch half the Fails, so what they leave is half
    # Pass: fitted on everything the rules answer Fail there, fitted on what the checks leave
    # they answer Pass, which (with the checks) gets every Pass and half the Fails right.
    texts = [f"{WORDS[(i // 3) % 10]} {WORDS[(i // 3 * 7) % 9]}" for i in range(30)]
    matrix = np.asarray(HashEmbedder(64).embed(texts), dtype=np.float32)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    examples = [
        Example(
            record_id=f"r{i}",
            key_text=text,
            case_text=text,
            label="Pass" if i % 3 == 0 else "Fail",
            judge_probs={"Pass": 0.2, "Fail": 0.8},
            created_at=start + timedelta(seconds=i),
        )
        for i, text in enumerate(texts)
    ]
    settled = ["Fail" if i % 3 == 1 else None for i in range(30)]
    choice = choose_decision(BINARY, examples, matrix, settled)
    assert choice is not None and choice.fitted_on == "undecided"
    # (Twenty undecided examples: too few per fold for the memory model, so the threshold.)
    assert dict(choice.by_scope) == pytest.approx({"all": 0.5, "undecided": 0.75})
    assert choice.rule == "llm"
    assert "fitted on the examples the checks leave (0.75 against 0.50" in choice.describe()
    assert choose_decision(BINARY, examples, matrix).fitted_on == "all"  # type: ignore[union-attr]


def test_the_retrieved_examples_vote_is_a_rule_of_its_own() -> None:
    # Labels follow the neighbourhood (the embeddings) and the model's probabilities are noise.
    choice = choose_decision(BINARY, *_memory(40, _noise), k=3)
    assert choice is not None and dict(choice.scores)["vote"] > dict(choice.scores)["llm"]


def test_a_rule_pinned_by_hand_decides_at_once_and_auto_takes_the_choice_back(
    make_judge: Callable[..., Judge], spec: JudgeSpec
) -> None:
    judge = make_judge(replace(spec, memory=MemoryConfig(checks=False)),
                       llm=unsure_llm(), embedder=HashEmbedder(64))  # fmt: skip
    judge.align(separable_records())
    assert judge.judge(outputs="kilo unsafe").value == "Fail"  # auto: memory decides
    version = judge.version
    assert judge.set_decision("llm") == "llm"
    # A new memory version: the verdict cached under auto is not served again.
    assert judge.version == version + 1 and judge.spec.memory.decision == "llm"
    assert judge.judge(outputs="kilo unsafe").value == "Pass"
    assert judge.set_decision("llm") == "llm" and judge.version == version + 1  # no change
    with pytest.raises(InputError, match="unknown decision rule"):
        judge.set_decision("magic")
    judge.set_decision("auto")
    assert judge.judge(outputs="kilo unsafe").value == "Fail"


@pytest.mark.parametrize("order", ["alternating", "in runs of five"])
def test_the_folds_score_a_rule_with_nothing_to_learn_near_chance_whatever_the_arrival_order(
    order: str,
) -> None:
    # Folds cut in arrival order hold one label where the labels alternate (or come in runs),
    # and a model fitted on the rest leans to the other label exactly where it is scored: over
    # these eight memories the embedding rule averaged 0.2 with folds cut that way.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    embedding, vote = [], []
    for draw in range(8):
        vectors = np.random.default_rng(draw).normal(size=(40, 64)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        examples = [
            Example(record_id=f"r{i}", key_text="", case_text="",
                    label="Pass" if (i if order == "alternating" else i // 5) % 2 == 0 else "Fail",
                    judge_probs={"Pass": 0.5, "Fail": 0.5}, created_at=start + timedelta(seconds=i))
            for i in range(40)
        ]  # fmt: skip
        choice = choose_decision(BINARY, examples, vectors)
        assert choice is not None
        embedding.append(dict(choice.scores)["embedding"])
        vote.append(dict(choice.scores)["vote"])
    assert 0.4 <= float(np.mean(embedding)) <= 0.6 and 0.4 <= float(np.mean(vote)) <= 0.6


def test_a_judge_fits_its_threshold_where_its_checks_leave_off(
    make_judge: Callable[..., Judge], spec: JudgeSpec
) -> None:
    from memalign.records import Check, Feedback

    def model(request: CompletionRequest) -> Completion | str:
        if request.purpose != "judge":
            return FakeLLM().complete(request)
        return Completion(text='{"rationale": "r", "value": "Fail"}',
                          choice_probs={"Pass": 0.2, "Fail": 0.8})  # fmt: skip

    # As in the test above: the model answers Fail for everything, and the word "rude" (which a
    # check reads) marks half the Fails; the other Fails read like the Passes.
    records = [
        Feedback(id=f"r{i}", outputs=f"{WORDS[(i // 3) % 10]} {WORDS[(i // 3 * 7) % 9]}"
                 + (" rude" if i % 3 == 1 else ""), label="Pass" if i % 3 == 0 else "Fail")
        for i in range(30)
    ]  # fmt: skip
    judge = make_judge(spec, llm=ScriptedLLM(model), embedder=HashEmbedder(64))
    judge.align(records)
    assert judge.snapshot().choice.fitted_on == "all"  # type: ignore[union-attr]
    rule = judge.add_guideline("Rude replies fail.", check=Check(term="rude", label="Fail"))
    assert rule.check is not None and rule.check.active
    snapshot = judge.snapshot()
    assert snapshot.choice is not None and snapshot.choice.fitted_on == "undecided"
    # The threshold in force is fitted on the 20 records the check leaves, not on all 30.
    assert snapshot.threshold is not None and snapshot.threshold.support == 20
    assert judge.judge(outputs=f"{WORDS[3]} {WORDS[2]}").value == "Pass"
    assert judge.judge(outputs=f"{WORDS[3]} rude").value == "Fail"
