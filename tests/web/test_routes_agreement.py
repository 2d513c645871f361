from __future__ import annotations

from memalign.judge_spec import Labels
from memalign.records import Feedback
from memalign.web.agreement import between_experts, curve_points, judge_vs_experts
from tests.web.conftest import Page, job_of


def review(page: Page, case_id: str, annotator: str, label: str) -> None:
    response = page.post(
        f"/judges/support/cases/{case_id}", {"annotator": annotator, "label": label}
    )
    page.wait_job(job_of(response), flips=True)


def test_agreement_page_per_version_annotator_and_between_experts(loaded: Page) -> None:
    empty = loaded.get("/judges/support/agreement").text
    assert "No reviewed verdict yet" in empty
    review(loaded, "c1", "ann", "Pass")
    review(loaded, "c1", "bob", "Fail")
    review(loaded, "c2", "ann", "Pass")
    review(loaded, "c2", "bob", "Pass")
    body = loaded.get("/judges/support/agreement").text
    assert "<polyline" in body
    assert "1 of 2 cases labelled by several experts have one label (50%)" in body
    assert "<td>ann · bob</td><td>2</td><td>0.50</td>" in body
    per_annotator = body[body.index('id="per-annotator"') :]
    assert "<td>ann</td>" in per_annotator and "<td>bob</td>" in per_annotator


def test_figures_from_records() -> None:
    output = Labels(("Pass", "Fail"))
    from memalign.judge_spec import JudgeSpec

    spec = JudgeSpec(name="j", instructions="Is {{ outputs }} ok?", output=output)
    records = [
        Feedback(id="a@x", inputs="a", label="Pass", verdict="Pass", annotator="x"),
        Feedback(id="a@y", inputs="a", label="Fail", verdict="Pass", annotator="y"),
        Feedback(id="b@x", inputs="b", label="Fail", verdict="Fail", annotator="x"),
        Feedback(id="b@y", inputs="b", label="Fail", verdict="Fail", annotator="y"),
        Feedback(id="c@x", inputs="c", feedback="no label", annotator="x"),
    ]
    per_version, per_annotator = judge_vs_experts(spec, records, [])
    assert [(r.key, r.report["n"], r.report["accuracy"]) for r in per_annotator] == [
        ("x", 2, 1.0),
        ("y", 2, 0.5),
    ]
    assert [r.key for r in per_version] == ["0"]
    experts = between_experts(records)
    assert (experts["cases"], experts["unanimous"]) == (2, 1)
    assert experts["pairs"][0]["kappa"] == 0.0
    assert curve_points(per_version).startswith("0.0,")
    assert curve_points([]) == ""


def test_every_review_of_a_case_counts_under_the_version_of_its_first_review() -> None:
    from datetime import UTC, datetime, timedelta

    from memalign.judge_spec import JudgeSpec
    from memalign.records import MemoryVersion

    spec = JudgeSpec(name="j", instructions="Is {{ outputs }} ok?", output=Labels(("Pass", "Fail")))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # x reviewed case a under v0; learning from it made v1; y reviewed a later. Both labels
    # are scored against the verdict before any review, which v0 gave.
    records = [
        Feedback(
            id="a@x", inputs="a", label="Pass", verdict="Fail", annotator="x", created_at=start
        ),
        Feedback(
            id="a@y",
            inputs="a",
            label="Pass",
            verdict="Fail",
            annotator="y",
            created_at=start + timedelta(minutes=2),
        ),
        Feedback(
            id="b@y",
            inputs="b",
            label="Pass",
            verdict="Pass",
            annotator="y",
            created_at=start + timedelta(minutes=3),
        ),
    ]
    history = [
        MemoryVersion(version=1, created_at=start + timedelta(minutes=1), operation="align"),
    ]
    per_version, _ = judge_vs_experts(spec, records, history)
    assert [(r.key, r.report["n"]) for r in per_version] == [("0", 2), ("1", 1)]
