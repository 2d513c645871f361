from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from memalign.stores import MemoryStore
from tests.web.conftest import CASES, FIXTURES, Page, job_of


def submit(page: Page, case_id: str, **data: Any) -> Any:
    data.setdefault("annotator", "ann")
    data.setdefault("next", "1")  # what "Submit and next" (and Ctrl+Enter) sends
    return page.post(f"/judges/support/cases/{case_id}", data)


def test_judges_page_lists_every_judge_with_progress(loaded: Page) -> None:
    body = loaded.get("/").text
    assert "/judges/support" in body and "/judges/compare" in body
    assert "0 of 4 reviewed" in body


def test_queue_shows_progress_cases_and_verdicts(loaded: Page) -> None:
    body = loaded.get("/judges/support").text
    assert "0 of 4 reviewed" in body
    for case in CASES:
        assert f"/judges/support/cases/{case['id']}" in body
    assert "judging…" not in body  # every uploaded case was judged


def test_submission_is_stored_aligned_and_changes_the_verdict(
    loaded: Page, store: MemoryStore
) -> None:
    before = loaded.get("/judges/support/cases/c1").text
    assert re.search(r'id="verdict-value">Fail<', before)
    response = submit(loaded, "c1", label="Pass", feedback="A refund promise is enough here.")
    assert response.status_code == 303
    # "Submit and next" goes to the next case in need, carrying the job to watch.
    assert "/judges/support/cases/c" in response.headers["location"]
    assert "/cases/c1?" not in response.headers["location"]
    job = loaded.wait_job(job_of(response), flips=True)
    assert job["status"] == "done", job
    assert job["result"]["before"] == "Fail" and job["result"]["after"] == "Pass"
    assert [g["text"] for g in job["result"]["added"]] == ["A refund promise is enough here."]
    assert job["latency"] < 1.0
    records = store.get_records(store.get_judge("support").judge_id)
    assert [(r.id, r.label, r.annotator, r.verdict) for r in records] == [
        ("c1@ann", "Pass", "ann", "Fail")
    ]
    after = loaded.get("/judges/support/cases/c1").text
    assert re.search(r'id="verdict-value">Pass<', after)
    assert "verdict flipped from" in after
    assert "1 of 4 reviewed" in loaded.get("/judges/support").text
    panel = loaded.get(f"/jobs/{job['id']}/panel").text
    assert "A refund promise is enough here." in panel and "(flipped)" in panel


def test_submit_and_stay_and_resubmission_replaces(loaded: Page, store: MemoryStore) -> None:
    first = submit(loaded, "c2", label="Fail")
    assert "/cases/c2?" not in first.headers["location"]
    loaded.wait_job(job_of(first))
    stay = loaded.post("/judges/support/cases/c2", {"annotator": "ann", "label": "Pass"})
    assert stay.headers["location"].startswith("/judges/support/cases/c2?job=")
    loaded.wait_job(job_of(stay))
    records = store.get_records(store.get_judge("support").judge_id)
    assert [(r.id, r.label) for r in records] == [("c2@ann", "Pass")]


def test_next_case_skips_what_this_annotator_reviewed(loaded: Page) -> None:
    seen = []
    location = "/judges/support/cases/c1"
    for _ in range(len(CASES)):
        case_id = location.split("/cases/")[1].split("?")[0]
        seen.append(case_id)
        response = submit(loaded, case_id, label="Pass")
        location = response.headers["location"]
        loaded.wait_job(job_of(response))
    assert sorted(seen) == sorted(c["id"] for c in CASES)
    assert location.startswith("/judges/support?job=")  # nothing left: back to the queue
    assert "4 of 4 reviewed" in loaded.get("/judges/support").text


def test_bad_submissions_are_refused_and_store_nothing(loaded: Page, store: MemoryStore) -> None:
    assert submit(loaded, "c1", label="Maybe").status_code == 400
    assert submit(loaded, "c1").status_code == 400  # neither label nor feedback
    assert submit(loaded, "c1", label="Pass", annotator="").status_code == 400
    assert submit(loaded, "c1", feedback="x" * 6000).status_code == 400
    assert submit(loaded, "nope", label="Pass").status_code == 404
    assert loaded.post("/judges/nobody/cases/c1", {"label": "Pass"}).status_code == 404
    assert store.get_records(store.get_judge("support").judge_id) == []


def rows(page: Page, query: str = "") -> str:
    body: str = page.get("/judges/support" + query).text
    return body[body.index('<table class="list queue">') : body.index("</table>")]


def test_queue_filters_and_order(loaded: Page) -> None:
    loaded.wait_job(job_of(submit(loaded, "c3", label="Fail")))
    loaded.wait_job(job_of(submit(loaded, "c3", label="Pass", annotator="bob")), flips=True)
    body = rows(loaded)
    # Experts disagree on c3: it needs a third look and comes first.
    assert body.index("/cases/c3") < body.index("/cases/c1")
    assert "experts disagree" in body
    conflict = rows(loaded, "?status=conflict")
    assert "/cases/c3" in conflict and "/cases/c1" not in conflict
    search = rows(loaded, "?status=all&q=voucher")
    assert "/cases/c3" in search and "/cases/c2" not in search
    reviewed = rows(loaded, "?status=reviewed")
    assert "/cases/c3" in reviewed and "/cases/c4" not in reviewed
    fails = rows(loaded, "?status=all&verdict=Fail")
    assert "<td>Fail</td>" in fails and "<td>Pass</td>" not in fails


def test_upload_errors_name_the_file_and_line(page: Page) -> None:
    response = page.upload("support", [{"id": "a", "inputs": "x"}, {"inputs": "no id"}])
    assert response.status_code == 400
    assert "cases.jsonl, line 2" in response.text and "missing id" in response.text
    assert page.upload("support", CASES, name="cases.exe").status_code == 400
    assert page.post("/judges/support/cases", {}).status_code == 400


def test_upload_csv_and_run_verdicts(page: Page, store: MemoryStore) -> None:
    csv = b"id,inputs,outputs\nk1,hello,world\nk2,good day,bye\n"
    run = b'{"id": "k1", "value": "Fail", "rationale": "from a run"}\n'
    response = page.post(
        "/judges/support/cases",
        files={"cases": ("cases.csv", csv, "text/csv"), "verdicts": ("run.jsonl", run, "x")},
    )
    assert response.status_code == 303
    page.wait_job(job_of(response))  # k2 had no verdict: judged now
    body = page.get("/judges/support/cases/k1").text
    assert "from a run" in body
    assert "judging…" not in page.get("/judges/support").text


def test_pairwise_cases_side_by_side(page: Page) -> None:
    rows = [{"id": "p1", "inputs": "q", "outputs": {"A": "first <b>answer</b>", "B": "second"}}]
    page.wait_job(job_of(page.upload("compare", rows)))
    body = page.get("/judges/compare/cases/p1").text
    assert 'id="case-a">first &lt;b&gt;answer&lt;/b&gt;<' in body
    assert 'id="case-b">second<' in body
    assert 'data-key="1"' in body and 'data-key="3"' in body  # A, B, tie


def test_redteam_text_is_escaped_everywhere(page: Page) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "redteam.jsonl").read_text().splitlines()]
    hostile = [
        {"id": r["id"], "inputs": r["inputs"], "outputs": r["outputs"]} for r in rows[:20]
    ] + [
        {
            "id": "xss-<script>",
            "inputs": "<script>alert(1)</script>",
            "outputs": '<img src=x onerror="alert(2)"><b>bold</b>',
        }
    ]
    page.wait_job(job_of(page.upload("support", hostile)))
    response = submit(
        page,
        "xss-<script>",
        label="Fail",
        feedback="<script>alert(3)</script> never trust <i>markup</i>",
        annotator="<b>eve</b>",
    )
    page.wait_job(job_of(response), flips=True)
    pages = [
        page.get("/judges/support?status=all").text,
        page.get("/judges/support/cases/xss-%3Cscript%3E").text,
        page.get("/judges/support/memory").text,
        page.get(f"/jobs/{job_of(response)}/panel").text,
        page.get("/judges/support/agreement").text,
    ]
    for body in pages:
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "<b>bold</b>" not in body and "<b>eve</b>" not in body
        assert "<script" not in body.replace('<script src="/static/app.js" defer></script>', "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in pages[2]


def test_job_routes(loaded: Page) -> None:
    assert loaded.get("/jobs/unknown.json").status_code == 404
    assert loaded.get("/jobs/unknown/panel").status_code == 404
    response = submit(loaded, "c1", label="Pass")
    job = loaded.wait_job(job_of(response))
    assert job["kind"] == "review" and job["case_id"] == "c1"


def test_latency_submit_to_new_verdict_on_the_fake_model(loaded: Page) -> None:
    latencies = []
    for case_id, label in (("c1", "Pass"), ("c2", "Fail"), ("c3", "Fail"), ("c4", "Fail")):
        start = time.perf_counter()
        response = submit(loaded, case_id, label=label, feedback=f"Rule for {case_id}.")
        job = loaded.wait_job(job_of(response))
        latencies.append((job["latency"], time.perf_counter() - start))
    # Worker-measured (submit accepted → new verdict stored) and seen by the client.
    assert max(worker for worker, _ in latencies) < 1.0
    assert max(client for _, client in latencies) < 1.5


def test_accepted_submissions_count_before_they_are_aligned(loaded: Page) -> None:
    worker = loaded.client.app.state.ctx.worker  # type: ignore[attr-defined]
    release = threading.Event()
    worker._tasks.put(release.wait)  # the writer is busy with someone else's alignment
    try:
        first = submit(loaded, "c1", label="Pass")
        second_case = first.headers["location"].split("/cases/")[1].split("?")[0]
        second = submit(loaded, second_case, label="Pass")
        # Neither alignment has run, yet "next" skips both cases and progress counts them.
        assert loaded.client.get(f"/jobs/{job_of(second)}.json").json()["status"] == "queued"
        third = second.headers["location"].split("/cases/")[1].split("?")[0]
        assert third not in ("c1", second_case)
        assert "2 of 4 reviewed" in loaded.get("/judges/support").text
    finally:
        release.set()
    assert loaded.wait_job(job_of(second))["status"] == "done"


def test_float_score_judges_take_a_number(page: Page, store: MemoryStore) -> None:
    from memalign import FloatScore, Judge, JudgeSpec
    from memalign.testing import FakeLLM, HashEmbedder

    spec = JudgeSpec(
        name="score", instructions="How good is {{ outputs }}?", output=FloatScore(0, 1)
    )
    Judge.create(store, spec, llm=FakeLLM(), embedder=HashEmbedder())
    page.wait_job(job_of(page.upload("score", CASES[:1])))
    body = page.get("/judges/score/cases/c1").text
    assert 'type="number"' in body and "data-key" not in body
    refused = page.post("/judges/score/cases/c1", {"annotator": "ann", "label": "7"})
    assert refused.status_code == 400 and "outside" in refused.text
    done = page.wait_job(
        job_of(page.post("/judges/score/cases/c1", {"annotator": "ann", "label": "0.7"}))
    )
    assert done["status"] == "done"
    records = store.get_records(store.get_judge("score").judge_id)
    assert [(r.id, r.label) for r in records] == [("c1@ann", 0.7)]


def test_review_ids_keep_case_and_annotator_apart(page: Page, store: MemoryStore) -> None:
    # Case "x@bob" by "corp" and case "x" by "bob@corp" once shared the id "x@bob@corp", and
    # the second review replaced the first.
    cases = [{"id": "x@bob", "inputs": "first case"}, {"id": "x", "inputs": "second case"}]
    page.wait_job(job_of(page.upload("support", cases)))
    for case_id, annotator in (("x@bob", "corp"), ("x", "bob@corp")):
        response = submit(page, case_id, label="Pass", annotator=annotator)
        assert response.status_code == 303, response.text
        page.wait_job(job_of(response))
    records = store.get_records(store.get_judge("support").judge_id)
    assert sorted((r.id, r.annotator, r.inputs) for r in records) == [
        ("x%40bob@corp", "corp", "first case"),
        ("x@bob%40corp", "bob@corp", "second case"),
    ]
    assert "2 of 2 reviewed" in page.get("/judges/support").text
    body = page.get("/judges/support/cases/x%40bob").text
    assert "Reviewed by corp (Pass)" in body and "bob@corp (" not in body


def test_case_ids_with_a_slash(page: Page, store: MemoryStore) -> None:
    page.wait_job(job_of(page.upload("support", [{"id": "tickets/7", "inputs": "hi"}])))
    queue = page.get("/judges/support").text
    assert "/judges/support/cases/tickets%2F7" in queue
    shown = page.get("/judges/support/cases/tickets%2F7")
    assert shown.status_code == 200 and 'id="case-id">tickets/7<' in shown.text
    response = page.post("/judges/support/cases/tickets%2F7", {"annotator": "ann", "label": "Pass"})
    assert response.status_code == 303, response.text
    assert page.wait_job(job_of(response))["status"] == "done"
    records = store.get_records(store.get_judge("support").judge_id)
    assert [r.id for r in records] == ["tickets%2F7@ann"]


def test_a_second_expert_is_scored_against_the_verdict_before_any_review(
    loaded: Page, store: MemoryStore
) -> None:
    # c1 is judged Fail; ann's review teaches the judge to say Pass, so bob then sees Pass.
    # Scoring the judge on what bob saw would credit it with what ann just taught it.
    first = submit(loaded, "c1", label="Pass", feedback="A refund promise is enough here.")
    assert loaded.wait_job(job_of(first), flips=True)["result"]["after"] == "Pass"
    assert re.search(r'id="verdict-value">Pass<', loaded.get("/judges/support/cases/c1").text)
    loaded.wait_job(job_of(submit(loaded, "c1", label="Pass", annotator="bob")), flips=True)
    records = store.get_records(store.get_judge("support").judge_id)
    assert sorted((r.annotator, r.verdict) for r in records) == [("ann", "Fail"), ("bob", "Fail")]


def test_the_queue_is_paged(loaded: Page, monkeypatch: Any) -> None:
    from memalign.web import routes_review

    monkeypatch.setattr(routes_review, "PAGE_SIZE", 3)
    first = rows(loaded, "?status=all")
    assert first.count("<tr class=") == 3
    body = loaded.get("/judges/support?status=all").text
    assert "page 1 of 2 (4 cases)" in body and 'rel="next"' in body
    second = rows(loaded, "?status=all&page=2")
    assert second.count("/judges/support/cases/") == 1
    assert rows(loaded, "?status=all&page=99") == second  # past the end: the last page


def test_stored_reviews_are_read_again_only_when_they_change(
    loaded: Page, store: MemoryStore, monkeypatch: Any
) -> None:
    calls = []
    real = store.get_records

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "get_records", counted)
    for _ in range(3):
        assert "0 of 4 reviewed" in loaded.get("/judges/support").text
    loaded.get("/judges/support/cases/c1")
    assert len(calls) <= 1
    loaded.wait_job(job_of(submit(loaded, "c1", label="Pass")), flips=True)
    assert "1 of 4 reviewed" in loaded.get("/judges/support").text
    assert len(calls) <= 2


def test_a_failed_verdict_names_its_kind_not_the_providers_words(loaded: Page) -> None:
    from memalign.records import Verdict

    queue = loaded.client.app.state.ctx.queue  # type: ignore[attr-defined]
    failed = Verdict(
        judge="support", value=None, error="ProviderError: 401 from https://llm.internal key=sk-9"
    )
    queue.set_verdict("support", "c1", failed)
    body = loaded.get("/judges/support/cases/c1").text
    assert "llm.internal" not in body and "sk-9" not in body
    assert "(ProviderError)" in body
