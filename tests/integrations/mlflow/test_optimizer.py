"""``judge.align(traces, optimizer=MemalignOptimizer(...))`` against a real MLflow store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Literal

import pytest

from memalign import FloatScore, Labels, Pairwise, Scale, open_store
from memalign.errors import InputError, LabelError, NotFoundError, SpecError, StoreError

from .conftest import CASES, Tracking

mlflow = pytest.importorskip("mlflow")

from memalign.integrations.mlflow import MemalignJudge, MemalignOptimizer, value_map  # noqa: E402


def _align(tracking: Tracking, make_mlflow_judge: Any, **options: Any) -> tuple[Any, list[str]]:
    ids = tracking.labelled()
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake", **options)
    judge = make_mlflow_judge().align([tracking.get(i) for i in ids], optimizer=optimizer)
    return judge, ids


def test_align_turns_human_assessments_into_memory_named_by_trace(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    judge, ids = _align(tracking, make_mlflow_judge)
    assert isinstance(judge, MemalignJudge)
    assert judge.name == "support_reply" and judge.feedback_value_type is bool
    core = judge.memalign
    records = {r.id: r for r in core.store.get_records(core.judge_id)}
    assert set(records) == set(ids)
    first = records[ids[0]]
    # bool → the yes/no labels; the rationale is the expert's feedback; the trace's case.
    assert first.label == "no" and first.feedback == CASES[0][3] and first.annotator == "ann"
    assert first.inputs == {"question": CASES[0][0]} and first.outputs == CASES[0][1]
    sources = {s for g in judge.memalign.guidelines() for s in g.sources}
    assert sources and sources <= set(ids)
    assert "Quote the ticket number." in judge.instructions


def test_verdicts_are_mlflow_feedback_naming_the_memory_used(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    judge, ids = _align(tracking, make_mlflow_judge)
    feedback = judge(trace=tracking.get(ids[1]))
    assert isinstance(feedback, mlflow.entities.Feedback)
    assert feedback.name == "support_reply" and isinstance(feedback.value, bool)
    assert feedback.source.source_type == "LLM_JUDGE"
    guideline_ids = feedback.metadata["memalign.guideline_ids"].split(",")
    example_ids = feedback.metadata["memalign.example_ids"].split(",")
    stored = {g.id for g in judge.memalign.guidelines()}
    assert guideline_ids and set(guideline_ids) <= stored
    assert set(example_ids) <= set(ids) and ids[1] in example_ids
    assert all(gid in feedback.rationale for gid in guideline_ids)
    direct = judge(inputs={"question": "Where is it?"}, outputs="Sorry, ticket #9 ships.")
    assert direct.error is None and isinstance(direct.value, bool)


def test_realigning_is_incremental(tracking: Tracking, make_mlflow_judge: Any) -> None:
    judge, ids = _align(tracking, make_mlflow_judge)
    traces = [tracking.get(i) for i in ids]
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    again = make_mlflow_judge().align(traces, optimizer=optimizer)
    report = again.last_report
    assert report is not None and report.records_unchanged == len(ids)
    assert report.records_added == 0 and report.usage.llm_calls == 0
    # The expert changes their mind: their newest assessment replaces the record.
    tracking.label(ids[0], True, "An apology is not needed for billing questions.")
    third = again.align([tracking.get(ids[0])])
    assert third.last_report is not None and third.last_report.records_replaced == [ids[0]]
    record = judge.memalign.store.get_records(judge.memalign.judge_id, [ids[0]])[0]
    assert record.label == "yes" and record.feedback and "not needed" in record.feedback


def test_several_annotators_are_several_records(tracking: Tracking, make_mlflow_judge: Any) -> None:
    trace_id = tracking.trace("Refund?", "No.")
    tracking.label(trace_id, False, "Too curt.", annotator="ann")
    tracking.label(trace_id, True, "Short is fine.", annotator="bob")
    tracking.label(trace_id, True, "Actually fine.", annotator="ann")  # ann's newest word
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    judge = make_mlflow_judge().align([tracking.get(trace_id)], optimizer=optimizer)
    records = judge.memalign.store.get_records(judge.memalign.judge_id)
    # ann labelled the trace first, so ann's record keeps the bare trace id.
    assert {(r.id, r.label, r.feedback) for r in records} == {
        (trace_id, "yes", "Actually fine."),
        (f"{trace_id}@bob", "yes", "Short is fine."),
    }


def test_a_second_annotator_leaves_the_first_ones_record_alone(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    trace_id = tracking.trace("Refund?", "No.")
    tracking.label(trace_id, False, "Too curt.", annotator="alice@example.com")
    judge = make_mlflow_judge().align(
        [tracking.get(trace_id)],
        optimizer=MemalignOptimizer(tracking.root / "memory.db", model="fake"),
    )
    core = judge.memalign
    before = {r.id: r for r in core.store.get_records(core.judge_id)}
    assert list(before) == [trace_id]
    tracking.label(trace_id, True, "Short is fine.", annotator="bob@example.com")
    again = judge.align([tracking.get(trace_id)])
    assert isinstance(again, MemalignJudge)
    report = again.last_report
    assert report is not None and report.records_added == 1 and report.records_unchanged == 1
    assert report.records_replaced == []
    # Nothing was forgotten: Alice's record (and what rests on it) stays as it was.
    assert again.last_forget is None
    after = {r.id: r for r in core.store.get_records(core.judge_id)}
    assert set(after) == {trace_id, f"{trace_id}@bob@example.com"}
    assert after[trace_id] == before[trace_id]
    # Alice changing her mind keeps her the bare id; Bob's record is untouched.
    tracking.label(trace_id, True, "Fine after all.", annotator="alice@example.com")
    third = again.align([tracking.get(trace_id)])
    assert third.last_report is not None and third.last_report.records_replaced == [trace_id]
    # Verdicts on Bob's record go to the trace: the separator's first occurrence ends the id.
    from memalign.integrations.mlflow.traces import trace_of

    assert trace_of(f"{trace_id}@bob@example.com") == trace_id


def test_a_trace_id_holding_the_separator_is_refused() -> None:
    from memalign.integrations.mlflow.traces import record_id

    with pytest.raises(InputError, match="@"):
        record_id("tr-1@x", "alice", True)


def test_feedback_without_a_value_is_a_record_without_a_label(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    trace_id = tracking.trace("Refund?", "No.")
    # Nothing said: skipped, and it does not claim the bare trace id by coming first.
    tracking.label(trace_id, None, None, annotator="anne")
    tracking.label(trace_id, None, "Too curt.", annotator="bob")
    tracking.label(trace_id, True, "Fine.", annotator="carol")
    judge = make_mlflow_judge().align(
        [tracking.get(trace_id)],
        optimizer=MemalignOptimizer(tracking.root / "memory.db", model="fake"),
    )
    records = judge.memalign.store.get_records(judge.memalign.judge_id)
    assert {(r.id, r.label, r.feedback) for r in records} == {
        (trace_id, None, "Too curt."),
        (f"{trace_id}@carol", "yes", "Fine."),
    }


def test_only_human_expectations_are_learned_as_they_are_scored(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    trace_id = tracking.trace("Refund?", "No.")
    tracking.label(trace_id, False, "Too curt.")
    for name, source in (
        ("policy", AssessmentSourceType.HUMAN),
        ("guess", AssessmentSourceType.LLM_JUDGE),
    ):
        mlflow.log_expectation(
            trace_id=trace_id,
            name=name,
            value=f"{name} value",
            source=AssessmentSource(source_type=source, source_id="x"),
        )
    judge = make_mlflow_judge().align(
        [tracking.get(trace_id)],
        optimizer=MemalignOptimizer(tracking.root / "memory.db", model="fake"),
    )
    record = judge.memalign.store.get_records(judge.memalign.judge_id)[0]
    assert record.expectations == {"policy": "policy value"}


def test_unalign_forgets_with_the_full_cascade(tracking: Tracking, make_mlflow_judge: Any) -> None:
    judge, ids = _align(tracking, make_mlflow_judge)
    removed_text = CASES[0][3]
    assert removed_text is not None
    same = judge.unalign([tracking.get(ids[0])])
    assert same is judge and judge.last_forget is not None
    assert judge.last_forget.records_removed == [ids[0]]
    core = judge.memalign
    assert ids[0] not in {r.id for r in core.store.get_records(core.judge_id)}
    assert all(removed_text not in g.text for g in judge.memalign.guidelines())
    assert all(e.record_id != ids[0] for e in judge.memalign.examples())
    # Deletion completeness: no byte of the removed feedback is left in the store's files.
    for file in (f for f in tracking.root.rglob("memory.db*") if f.is_file()):
        assert removed_text.encode() not in file.read_bytes(), file
    assert ids[0] not in judge(trace=tracking.get(ids[1])).metadata["memalign.example_ids"]


def test_deleted_assessments_are_forgotten_on_realign(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    judge, ids = _align(tracking, make_mlflow_judge)
    for assessment in tracking.get(ids[2]).info.assessments:
        mlflow.delete_assessment(trace_id=ids[2], assessment_id=assessment.assessment_id)
    again = judge.align([tracking.get(ids[2]), tracking.get(ids[1])])
    core = again.memalign
    assert ids[2] not in {r.id for r in core.store.get_records(core.judge_id)}


def test_value_types_map_onto_memalign_outputs() -> None:
    assert value_map(bool).output == Labels(("yes", "no"))
    assert value_map(bool).to_mlflow("yes") is True
    capitalised = value_map(bool, Labels(("Yes", "No")))
    assert capitalised.kind == "bool"
    assert capitalised.to_mlflow("Yes") is True and capitalised.to_mlflow("No") is False
    assert value_map(bool | None).kind == "bool"
    assert value_map(Literal["Pass", "Fail"]).output == Labels(("Pass", "Fail"))
    # Case is kept (MLflow's own optimizer lowercases labels).
    assert value_map(Literal["Pass", "Fail"]).to_memalign("pass") == "Pass"
    assert value_map(Literal[1, 2, 3, 4, 5]).output == Scale(1, 5)
    assert value_map(int).output == Scale(1, 5)
    assert value_map(int, Scale(0, 10)).to_memalign(7) == 7
    assert value_map(float).output == FloatScore()
    with pytest.raises(SpecError):
        value_map(str)
    with pytest.raises(LabelError):
        value_map(Literal["Pass", "Fail"]).to_memalign("maybe")


def test_pairwise_judges_align_with_an_explicit_output(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    # The pair is the trace's outputs; the expert's assessment names the better one.
    trace_id = tracking.trace("Refund?", {"A": "Sorry! Refunded.", "B": "Refunded."})
    tracking.label(trace_id, "A", "A apologises first.")
    trace = tracking.get(trace_id)
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake", output=Pairwise())
    judge = make_mlflow_judge(str, "Which of {{ outputs }} answers {{ inputs }} better?").align(
        [trace], optimizer=optimizer
    )
    assert judge.memalign.spec.output == Pairwise()
    record = judge.memalign.store.get_records(judge.memalign.judge_id)[0]
    assert record.label == "A"
    verdict = judge(inputs="Which?", outputs={"A": "Sorry, fixed.", "B": "Fixed."})
    assert verdict.error is None and verdict.value in ("A", "B", "tie")


def test_trace_judges_and_free_text_are_refused(tracking: Tracking, make_mlflow_judge: Any) -> None:
    trace_id = tracking.trace("q", "a")
    tracking.label(trace_id, True)
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    with pytest.raises(SpecError, match="trace"):
        make_mlflow_judge(bool, "Is {{ trace }} fine?").align(
            [tracking.get(trace_id)], optimizer=optimizer
        )
    with pytest.raises(SpecError, match="free text"):
        make_mlflow_judge(str).align([tracking.get(trace_id)], optimizer=optimizer)


def test_traces_without_expert_feedback_are_refused(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    trace_id = tracking.trace("q", "a")
    tracking.label(trace_id, True, name="another_judge")
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    with pytest.raises(InputError, match="HUMAN"):
        make_mlflow_judge().align([tracking.get(trace_id)], optimizer=optimizer)
    # Nothing was learned, and no empty judge (or store) was left behind.
    assert not (tracking.root / "memory.db").exists()
    open_store(tracking.root / "memory.db").close()
    with pytest.raises(InputError, match="HUMAN"):
        make_mlflow_judge().align([tracking.get(trace_id)], optimizer=optimizer)
    store = open_store(tracking.root / "memory.db")
    with pytest.raises(NotFoundError):
        store.get_judge("support_reply")
    store.close()


def test_memory_text_lives_in_the_memalign_store_not_mlflow(
    tracking: Tracking, make_mlflow_judge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow's rule for any custom scorer code outside Databricks (see scorer.py).
    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS", "true")
    aligned, _ = _align(tracking, make_mlflow_judge)
    judge = MemalignJudge(aligned.binding, name=aligned.name, timeout=42)
    judge.register(experiment_id=tracking.experiment_id)
    path = Path(tracking.uri.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        rows = [row[0] for row in db.execute("select serialized_scorer from scorer_versions")]
    assert len(rows) == 1
    from memalign.integrations.mlflow.scorer import _read_source

    assert _read_source(json.loads(rows[0])["call_source"]) == ("support_reply", judge.binding)
    assert "Quote the ticket number" not in rows[0]
    from mlflow.genai.scorers import get_scorer

    reloaded = get_scorer(name="support_reply", experiment_id=tracking.experiment_id)
    assert reloaded.timeout == 42 and not reloaded.is_session_level_scorer
    assert MemalignJudge.from_scorer(reloaded).binding == judge.binding


def test_a_judge_aligned_by_mlflows_memalign_keeps_only_its_criterion(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    from mlflow.genai.judges.optimizers.memalign.optimizer import MemoryAugmentedJudge
    from mlflow.genai.judges.optimizers.memalign.utils import Guideline as MlflowGuideline

    base = make_mlflow_judge()
    theirs = MemoryAugmentedJudge(
        base, reflection_lm="openai:/unused", embedding_model="openai:/unused", _defer_init=True
    )
    theirs._semantic_memory = [MlflowGuideline(guideline_text="Be nice.", source_trace_ids=None)]
    assert "Be nice." in theirs.instructions
    ids = tracking.labelled()
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    ours = theirs.align([tracking.get(i) for i in ids], optimizer=optimizer)
    assert isinstance(ours, MemalignJudge)
    assert ours.memalign.spec.instructions == base.instructions


@pytest.mark.parametrize("store", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused_up_front(store: str) -> None:
    with pytest.raises(InputError, match="give a file path"):
        MemalignOptimizer(store, model="fake")


def _reopen(judge: MemalignJudge) -> MemalignJudge:
    """The judge as another process sees it: nothing opened yet."""
    from memalign.integrations.mlflow import binding

    for core in binding._OPENED.values():
        core.store.close()
    binding._OPENED.clear()
    return MemalignJudge(judge.binding, name="support_reply_mlflow")


def test_a_moved_store_is_named_with_both_judges(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    judge, _ = _align(tracking, make_mlflow_judge)
    moved = _reopen(judge)
    shutil.move(tracking.root / "memory.db", tracking.root / "elsewhere.db")
    with pytest.raises(StoreError, match="moved or deleted") as raised:
        moved(inputs={"question": "q"}, outputs="a")
    message = str(raised.value)
    assert "support_reply_mlflow" in message and "'support_reply'" in message
    assert raised.value.location == judge.binding.store
    assert "--store" not in message


def test_a_deleted_judge_is_named_with_both_judges(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    judge, _ = _align(tracking, make_mlflow_judge)
    gone = _reopen(judge)
    store = open_store(tracking.root / "memory.db")
    store.delete_judge("support_reply")
    store.close()
    with pytest.raises(StoreError, match="moved or deleted"):
        gone(inputs={"question": "q"}, outputs="a")


def test_an_aligned_judge_refuses_an_optimizer_with_other_memory(
    tracking: Tracking, make_mlflow_judge: Any
) -> None:
    judge, ids = _align(tracking, make_mlflow_judge)
    traces = [tracking.get(ids[0])]
    for other in (
        MemalignOptimizer(tracking.root / "other.db", model="fake"),
        MemalignOptimizer(tracking.root / "memory.db", model="local"),
        MemalignOptimizer(tracking.root / "memory.db", model="fake", embedder="other"),
    ):
        with pytest.raises(SpecError, match="already aligned"):
            judge.align(traces, optimizer=other)
    assert not (tracking.root / "other.db").exists()
    # The same memory, named again or left out, continues.
    same = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    assert judge.align(traces, optimizer=same).last_report is not None
