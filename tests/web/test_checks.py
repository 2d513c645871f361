"""Checks on the review page: the review screen lists the checks that fired with their match
marked in the (escaped) case text, the queue ranks by them, and the memory page shows each
guideline's check with its figures."""

from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import escape

from memalign import Check, Clause, Feedback, Judge, Predicate
from memalign.records import CheckHit, Verdict
from memalign.stores import MemoryStore
from memalign.testing import FakeLLM, HashEmbedder
from memalign.web import triage
from tests.web.conftest import Page, job_of

RULE = "A bare except: hides every error."
HOSTILE = "<script>alert(1)</script> except: pass"


def _teach(store: MemoryStore) -> Judge:
    """Ten failing outputs with a bare ``except:`` and ten passing ones without: the default
    memory mines and validates a check on "except" from the experts' words."""
    judge = Judge.load(store, "support", llm=FakeLLM(), embedder=HashEmbedder())
    failing = [
        Feedback(id=f"f{i}", inputs=f"Fix bug {i}", outputs=f"try:\n    run({i})\nexcept: pass",
                 label="Fail", feedback=RULE)
        for i in range(10)
    ]  # fmt: skip
    passing = [
        Feedback(id=f"p{i}", inputs=f"Fix bug {i}", outputs=f"with open(p{i}) as f:\n    read(f)",
                 label="Pass", feedback="Clean resource handling.")
        for i in range(10)
    ]  # fmt: skip
    judge.align(failing + passing)
    return judge


def _except_check(judge: Judge) -> Any:
    return next(
        g
        for g in judge.guidelines()
        if g.check is not None and g.check.term.startswith("except") and g.check.present
    )


def _upload(
    page: Page, cases: list[dict[str, Any]], verdicts: tuple[dict[str, Any], ...] = ()
) -> None:
    files = {"cases": ("cases.jsonl", "".join(json.dumps(c) + "\n" for c in cases).encode())}
    if verdicts:
        files["verdicts"] = ("run.jsonl", "".join(json.dumps(v) + "\n" for v in verdicts).encode())
    response = page.post("/judges/support/cases", files=files)
    assert response.status_code == 303, response.text
    if "job=" in response.headers["location"]:
        page.wait_job(job_of(response))


def _pre(text: str, element_id: str) -> str:
    found = re.search(rf'<pre class="text" id="{element_id}">(.*?)</pre>', text, re.S)
    assert found, f"no #{element_id}"
    return found.group(1)


def test_the_review_screen_lists_the_checks_that_fired_and_marks_the_match(
    store: MemoryStore, page: Page
) -> None:
    guideline = _except_check(_teach(store))
    _upload(page, [{"id": "x", "inputs": "Fix it", "outputs": HOSTILE}])

    text = page.get("/judges/support/cases/x").text
    assert 'id="decided-by-checks"' in text and "without a model call" in text
    assert str(escape(guideline.text)) in text and "10 of 10" in guideline.text
    assert f'id="check-{guideline.id}"' in text
    # The term is marked where it was found; everything around it stays escaped text.
    assert _pre(text, "case-outputs") == (
        '&lt;script&gt;alert(1)&lt;/script&gt; <mark class="check-hit">except</mark>: pass'
    )
    excerpt = re.search(r'<pre class="text small check-excerpt">(.*?)</pre>', text, re.S)
    assert excerpt and '<mark class="check-hit">except</mark>' in excerpt.group(1)
    assert "<script>" not in text


def test_a_check_that_fired_on_absence_says_so(store: MemoryStore, page: Page) -> None:
    _teach(store)
    _upload(page, [{"id": "clean", "inputs": "Fix it", "outputs": "return 42"}])
    text = page.get("/judges/support/cases/clean").text
    assert 'id="decided-by-checks"' in text
    assert "is missing from the outputs" in text and "check-hit" not in text
    assert _pre(text, "case-outputs") == "return 42"


def test_a_model_verdict_does_not_claim_the_checks_decided(page: Page) -> None:
    _upload(page, [{"id": "m", "inputs": "Where is my parcel?", "outputs": "Ships today."}])
    text = page.get("/judges/support/cases/m").text
    assert 'id="decided-by-checks"' not in text and 'id="checks"' not in text


def test_a_hostile_span_is_escaped_and_an_unknown_guideline_named(
    store: MemoryStore, page: Page
) -> None:
    """A verdict uploaded from an earlier run may carry any span, for a guideline memory no
    longer has: the marked run is escaped like the rest, and offsets past the text are
    ignored rather than trusted."""
    _teach(store)
    hit = {"guideline_id": "g-gone", "label": "Fail", "field": "outputs"}
    verdicts = [
        {"id": "h", "value": "Fail", "checks": [{**hit, "span": [0, 8]}]},
        {"id": "far", "value": "Fail", "checks": [{**hit, "span": [5, 900]}]},
    ]
    _upload(
        page,
        [{"id": "h", "outputs": HOSTILE}, {"id": "far", "outputs": "short <b>bold</b>"}],
        tuple(verdicts),
    )
    text = page.get("/judges/support/cases/h").text
    assert _pre(text, "case-outputs") == (
        '<mark class="check-hit">&lt;script&gt;</mark>alert(1)&lt;/script&gt; except: pass'
    )
    assert "g-gone is no longer in memory" in text and "<script>" not in text
    far = page.get("/judges/support/cases/far").text
    assert _pre(far, "case-outputs") == "short &lt;b&gt;bold&lt;/b&gt;"
    assert "<b>" not in far


def _queue_rows(page: Page) -> list[tuple[str, str]]:
    text = page.get("/judges/support?status=all").text
    body = text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in body.split("</tr>")[:-1]:
        case = re.search(r"/cases/([^\"]+)\">", row)
        cell = re.search(r'<td class="checks-cell">(.*?)</td>', row, re.S)
        assert case and cell
        rows.append((case.group(1), cell.group(1)))
    return rows


def test_the_queue_puts_check_conflicts_first_and_check_decisions_last(
    store: MemoryStore, page: Page
) -> None:
    guideline = _except_check(_teach(store))
    span = {"guideline_id": guideline.id, "label": "Fail", "field": "outputs", "span": [10, 16]}
    cases = [
        {"id": "decided", "outputs": "try: go()\nexcept: retry()"},
        {"id": "unsure", "outputs": "maybe fine"},
        {"id": "overruled", "outputs": "try: go()\nexcept: retry()"},
    ]
    verdicts = [
        # The model was unsure, and no check fired.
        {"id": "unsure", "value": "Pass", "probabilities": {"Pass": 0.55, "Fail": 0.45}},
        # The model said Pass although a validated check says Fail: an expert should settle it.
        {"id": "overruled", "value": "Pass", "probabilities": {"Pass": 0.9, "Fail": 0.1},
         "checks": [span]},
    ]  # fmt: skip
    _upload(page, cases, tuple(verdicts))

    rows = _queue_rows(page)
    assert [case for case, _ in rows] == ["overruled", "unsure", "decided"]
    cells = dict(rows)
    assert "checks disagree" in cells["overruled"]
    assert "decided by checks" in cells["decided"]
    assert "tag" not in cells["unsure"]
    assert "checks disagree with the verdict" in page.get("/judges/support/cases/overruled").text

    # "checks" shows the cases where any check fired.
    text = page.get("/judges/support?status=checks").text
    assert "/cases/decided" in text and "/cases/overruled" in text
    assert "/cases/unsure" not in text


def test_agreeing_checks_count_as_confident() -> None:
    fail = CheckHit(guideline_id="g", label="Fail", field="outputs", span=(0, 1))
    decided = Verdict(judge="j", value="Fail", decision="checks", checks=[fail])
    assert triage.uncertainty(decided) == 0.0 and not triage.checks_contradict(decided)
    # Checks that disagree among themselves leave the model to decide, and an expert to settle.
    split = Verdict(
        judge="j",
        value="Fail",
        checks=[fail, fail.model_copy(update={"label": "Pass", "guideline_id": "h"})],
        probabilities={"Fail": 0.6, "Pass": 0.4},
    )
    assert triage.checks_contradict(split) and triage.uncertainty(split) > 0.3
    failed = Verdict(judge="j", value=None, error="x", checks=[fail])
    assert not triage.checks_contradict(failed)


def test_the_memory_page_shows_each_guidelines_check(store: MemoryStore, page: Page) -> None:
    judge = _teach(store)
    mined = _except_check(judge)
    hand = judge.add_guideline(
        "Replies that mention zebras pass.", check=Check(term="Zebra", label="Pass")
    )
    text = page.get("/judges/support/memory").text
    line = re.search(rf'id="check-of-{mined.id}">(.*?)</p>', text, re.S)
    assert line, text
    # Spelled as everywhere else (checks.describe), escaped.
    assert "&#39;except&#39; is in the outputs" in line.group(1)
    assert "<strong>Fail</strong>" in line.group(1)
    assert "fires on 10, 10 of them labelled Fail" in line.group(1)
    assert "check-active" in line.group(1)
    unproven = re.search(rf'id="check-of-{hand.id}">(.*?)</p>', text, re.S)
    assert unproven and "&#39;zebra&#39; is in the outputs" in unproven.group(1)
    assert "not active" in unproven.group(1) and "fires on 0" in unproven.group(1)
    absent = next(g for g in judge.guidelines() if g.check is not None and not g.check.present)
    assert f'id="check-of-{absent.id}">' in text and "is missing from the outputs" in text


def test_a_check_is_set_changed_and_removed_from_the_memory_page(
    store: MemoryStore, page: Page
) -> None:
    judge = _teach(store)
    rule = judge.add_guideline("Resource handling uses a with block.")
    form = page.get("/judges/support/memory").text
    assert f'action="/judges/support/guidelines/{rule.id}/check"' in form
    assert '<option value="Pass"' in form and '<option value="Fail"' in form
    url = f"/judges/support/guidelines/{rule.id}/check"
    set_ = page.post(url, {"action": "set", "label": "Pass", "term": "With Open(",
                           "part": "all", "field": "outputs"})  # fmt: skip
    assert set_.status_code == 303, set_.text
    check = next(g for g in judge.guidelines() if g.id == rule.id).check
    assert check is not None and (check.term, check.label, check.fires, check.active) == (
        "with open(", "Pass", 10, True
    )  # fmt: skip
    changed = page.post(url, {"action": "set", "label": "Fail", "term": "capital at risk",
                              "absent": "1", "part": "last_line",
                              "when": "inputs=bug 3"})  # fmt: skip
    assert changed.status_code == 303
    check = next(g for g in judge.guidelines() if g.id == rule.id).check
    assert check is not None and not check.present and check.part == "last_line"
    assert check.when is not None and check.when.term == "bug 3"
    text = page.get("/judges/support/memory").text
    assert "where &#39;bug 3&#39; is in the inputs" in text  # explained, escaped
    assert 'value="inputs=bug 3"' in text  # the form shows the condition to edit
    within = page.post(url, {"action": "set", "label": "Fail", "term": r"\d+", "pattern": "1",
                             "within": "inputs"})  # fmt: skip
    assert within.status_code == 303
    shown = page.get("/judges/support/memory").text
    assert "a match of pattern /\\d+/ in the outputs is not copied from the inputs" in shown
    check = next(g for g in judge.guidelines() if g.id == rule.id).check
    bad_forms = (
        {"term": "(a", "pattern": "1"},
        {"term": "x", "when": "nowhere=1"},
        {"term": ""},
        {"term": "x", "within": "nowhere"},
    )
    for bad in bad_forms:
        refused = page.post(url, {"action": "set", "label": "Fail", **bad})
        assert refused.status_code == 400, bad
    assert next(g for g in judge.guidelines() if g.id == rule.id).check == check  # unchanged
    removed = page.post(url, {"action": "remove"})
    assert removed.status_code == 303
    assert next(g for g in judge.guidelines() if g.id == rule.id).check is None


def test_a_check_with_a_clause_per_value_shows_every_clause(store: MemoryStore, page: Page) -> None:
    judge = _teach(store)
    region = Predicate(term="uk", field="inputs", key="audience_region")
    other = Predicate(term="<us>", field="inputs", key="audience_region")
    check = Check(term="capital at risk", present=False, label="Fail", when=region,
                  alternatives=(Clause(term="fdic", present=False, when=other),))  # fmt: skip
    rule = judge.add_guideline("The region's disclaimer is in the footer.", check=check)
    text = page.get("/judges/support/memory").text
    line = re.search(rf'id="check-of-{rule.id}">(.*?)</p>', text, re.S)
    assert line, text
    assert "where &#39;uk&#39; is in inputs.audience_region; or &#39;fdic&#39; is missing" in (
        line.group(1)
    )
    assert "&lt;us&gt;" in line.group(1) and "<us>" not in line.group(1)  # escaped
    assert "1 more clause (listed above)" in text
