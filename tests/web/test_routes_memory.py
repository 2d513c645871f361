from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from memalign.records import Feedback
from memalign.stores import MemoryStore
from memalign.web import ServeConfig
from tests.web.conftest import Page, job_of

RULE = "Replies must open with an apology."


def reviewed(page: Page, case_id: str = "c1", annotator: str = "ann") -> None:
    response = page.post(
        f"/judges/support/cases/{case_id}",
        {"annotator": annotator, "label": "Fail", "feedback": RULE},
    )
    page.wait_job(job_of(response), flips=True)


def guideline_id(store: MemoryStore) -> str:
    return store.guidelines(store.get_judge("support").judge_id)[0][0].id


def test_memory_page_shows_guidelines_examples_and_history(loaded: Page) -> None:
    reviewed(loaded)
    body = loaded.get("/judges/support/memory").text
    assert RULE in body and "from c1@ann" in body
    assert "Examples (1)" in body
    assert re.search(r"<td>v1</td><td>align</td>", body)


def test_edit_pin_retire_approve_and_add(loaded: Page, store: MemoryStore) -> None:
    reviewed(loaded)
    gid = guideline_id(store)
    url = f"/judges/support/guidelines/{gid}"
    assert loaded.post(url, {"action": "edit", "text": "Open with an apology."}).status_code == 303
    assert loaded.post(url, {"action": "pin"}).status_code == 303
    guideline = store.guidelines(store.get_judge("support").judge_id)[0][0]
    assert (guideline.text, guideline.pinned) == ("Open with an apology.", True)
    loaded.post(url, {"action": "unpin"})
    loaded.post(url, {"action": "retire"})
    guideline = store.guidelines(store.get_judge("support").judge_id)[0][0]
    assert (guideline.pinned, guideline.status) == (False, "retired")
    loaded.post(url, {"action": "approve"})
    assert store.guidelines(store.get_judge("support").judge_id)[0][0].status == "active"
    added = loaded.post("/judges/support/guidelines", {"text": "Quote the ticket.", "pinned": "1"})
    assert added.status_code == 303
    texts = [g.text for g, _ in store.guidelines(store.get_judge("support").judge_id)]
    assert "Quote the ticket." in texts
    assert "Quote the ticket." in loaded.get("/judges/support/memory").text


def test_bad_guideline_changes_are_refused(loaded: Page, store: MemoryStore) -> None:
    reviewed(loaded)
    gid = guideline_id(store)
    version = store.get_judge("support").version
    assert loaded.post(f"/judges/support/guidelines/{gid}", {"action": "drop"}).status_code == 400
    edit = {"action": "edit", "text": " "}
    assert loaded.post(f"/judges/support/guidelines/{gid}", edit).status_code == 400
    assert loaded.post("/judges/support/guidelines/nope", {"action": "pin"}).status_code == 404
    assert loaded.post("/judges/support/guidelines", {"text": ""}).status_code == 400
    assert store.get_judge("support").version == version


def test_forget_an_annotator_after_a_dry_run_preview(loaded: Page, store: MemoryStore) -> None:
    reviewed(loaded, "c1", "ann")
    reviewed(loaded, "c2", "bob")
    judge_id = store.get_judge("support").judge_id
    preview = loaded.post("/judges/support/forget", {"annotator": "ann", "action": "preview"})
    assert preview.status_code == 200
    assert "would remove 1 record(s)" in preview.text and "c1@ann" in preview.text
    assert len(store.get_records(judge_id)) == 2  # a preview changes nothing
    done = loaded.post("/judges/support/forget", {"annotator": "ann", "action": "forget"})
    assert "Removed 1 record(s)" in done.text
    assert [r.id for r in store.get_records(judge_id)] == ["c2@bob"]
    # The queue reads reviews from the store: c1 is waiting for an expert again.
    assert "1 of 4 reviewed" in loaded.get("/judges/support").text


def test_forget_records_by_id(loaded: Page, store: MemoryStore) -> None:
    reviewed(loaded)
    preview = loaded.post("/judges/support/forget", {"ids": "c1@ann, missing"})
    assert "Not found: missing" in preview.text
    loaded.post("/judges/support/forget", {"ids": "c1@ann", "action": "forget"})
    judge_id = store.get_judge("support").judge_id
    assert store.get_records(judge_id) == []
    assert store.guidelines(judge_id) == []
    assert loaded.post("/judges/support/forget", {"ids": ""}).status_code == 400


def test_a_slow_writer_blocks_no_other_request_and_says_still_running(
    make_page: Callable[..., Page], store: MemoryStore
) -> None:
    page = make_page(ServeConfig(wait_seconds=1.0))
    page.get("/judges/support")
    worker = page.client.app.state.ctx.worker  # type: ignore[attr-defined]
    release = threading.Event()
    worker._tasks.put(lambda: release.wait(20))  # someone's alignment on a slow model
    answers: dict[str, Any] = {}

    def add() -> None:
        answers["add"] = page.post("/judges/support/guidelines", {"text": "Quote the ticket."})

    def look() -> None:
        answers["queue"] = page.client.get("/judges/support")

    adding = threading.Thread(target=add)
    looking = threading.Thread(target=look)
    try:
        adding.start()
        time.sleep(0.3)  # the edit is waiting for the writer
        looking.start()
        looking.join(5)
        # Once, the edit's wait held the event loop and every other request with it.
        assert "queue" in answers and answers["queue"].status_code == 200
        adding.join(5)
        assert answers["add"].status_code == 202
        assert "Still running" in answers["add"].text
        assert store.guidelines(store.get_judge("support").judge_id) == []
    finally:
        release.set()
    worker.call("support", lambda judge: None).result(10)
    texts = [g.text for g, _ in store.guidelines(store.get_judge("support").judge_id)]
    assert texts == ["Quote the ticket."]  # applied after all


def test_the_decision_in_force_is_shown_and_can_be_pinned_and_handed_back(
    loaded: Page, store: MemoryStore
) -> None:
    reviewed(loaded)
    body = loaded.get("/judges/support/memory").text
    # One record is too little memory to choose from: the model's rule, and why.
    assert 'id="decision"' in body and "decided by <strong>llm</strong>" in body
    assert "once it holds 25 examples" in body
    version = store.get_judge("support").version
    pinned = loaded.post("/judges/support/decision", {"decision": "vote"})
    assert pinned.status_code == 303 and pinned.headers["location"].endswith("#decision")
    row = store.get_judge("support")
    assert row.spec.memory.decision == "vote" and row.version == version + 1
    body = loaded.get("/judges/support/memory").text
    assert "decided by <strong>vote</strong>" in body and "Pinned by hand." in body
    assert '<option value="vote" selected>' in body
    assert loaded.post("/judges/support/decision", {"decision": "auto"}).status_code == 303
    assert store.get_judge("support").spec.memory.decision == "auto"


def test_an_unknown_decision_rule_is_refused_and_changes_nothing(
    loaded: Page, store: MemoryStore
) -> None:
    version = store.get_judge("support").version
    refused = loaded.post("/judges/support/decision", {"decision": "<script>"})
    assert refused.status_code == 400 and "<script>" not in refused.text
    assert "unknown decision rule" in refused.text
    assert store.get_judge("support").version == version


def test_a_decision_chosen_from_memory_shows_the_scores_it_rests_on(
    page: Page, store: MemoryStore
) -> None:
    from tests.web.conftest import opener

    opener(store)("support").align(_rude_and_kind(rude_every=2))
    body = page.get("/judges/support/memory").text
    chosen = re.search(r"<tr class=\"chosen\"><td>(\w+) \(chosen\)</td><td>([\d.]+)</td>", body)
    assert chosen is not None, body
    assert f"decided by <strong>{chosen.group(1)}</strong>" in body
    assert "Cross-validated balanced accuracy on 40 labelled examples" in body


def test_the_memory_page_says_what_the_decision_is_fitted_on_when_checks_decide(
    page: Page, store: MemoryStore
) -> None:
    from memalign.records import Check
    from tests.web.conftest import opener

    judge = opener(store)("support")
    judge.align(_rude_and_kind(rude_every=4))  # half the Fails say "rude"
    rule = judge.add_guideline("Rude replies fail.", check=Check(term="rude", label="Fail"))
    assert rule.check is not None and rule.check.active
    body = page.get("/judges/support/memory").text
    line = re.search(r'<p class="decision-scope">Its models are fitted on ([^<]+)</p>', body)
    assert line is not None, body
    assert re.search(r"\(\d\.\d\d held out, against \d\.\d\d fitted on", line.group(1))


def _rude_and_kind(rude_every: int) -> list[Feedback]:
    """40 labelled replies, every other one Fail; the word "rude" marks one in ``rude_every``
    (each of them a Fail)."""
    words = ["alpha", "bravo", "delta", "kilo", "lima", "oscar", "romeo", "tango"]
    return [
        Feedback(id=f"r{i}", outputs=f"{words[i % 8]} {'rude' if i % rude_every == 1 else 'kind'}",
                 label="Fail" if i % 2 else "Pass")
        for i in range(40)
    ]  # fmt: skip
