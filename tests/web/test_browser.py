"""A whole expert session in real headless Chromium (Debian's ``chromium``), against
``memalign serve --model fake`` running in its own process."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memalign import open_store
from memalign.cli import app as cli_app
from tests.web.conftest import CASES, FIXTURES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (scripts/setup installs it)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
RULE = "A refund promise is enough here."
# Set to a folder to refresh the screenshots in docs/ (see docs/review-page.md).
SHOTS = os.environ.get("MEMALIGN_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    config = tmp_path / "no-config.toml"
    monkeypatch.setenv("MEMALIGN_CONFIG", str(config))
    store = tmp_path / "browser.db"
    created = CliRunner().invoke(
        cli_app,
        [
            "judge", "create", "support", "--output", "labels:Pass,Fail", "--instructions",
            "Is {{ outputs }} a good reply to {{ inputs }}?", "--model", "fake",
            "--store", str(store),
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    port = free_port()
    env = {**os.environ, "MEMALIGN_CONFIG": str(config)}
    process = subprocess.Popen(
        [
            sys.executable, "-c", "from memalign.cli import main; main()", "serve",
            "--store", str(store), "--port", str(port), "--model", "fake",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)
    try:
        yield base, store
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def upload(page: Any, base: str, tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows))
    page.goto(base + "/judges/support")
    page.set_input_files('input[name="cases"]', str(cases))
    page.click('form[enctype] button[type="submit"]')
    # The panel polls until the worker has judged them, then offers a reload.
    page.wait_for_selector('.job[data-status="done"]')
    page.goto(base + "/judges/support")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_a_whole_expert_session(server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    base, store_path = server
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    upload(page, base, tmp_path, CASES)
    assert "0 of 4 reviewed" in page.inner_text("#progress")
    page.goto(base + "/judges/support/cases/c1")
    assert page.inner_text("#verdict-value") == "Fail"
    # Keys pick a label; digits typed into the feedback box stay text.
    page.keyboard.press("1")
    assert page.is_checked('input[data-key="1"]')
    page.keyboard.press("2")
    assert page.is_checked('input[data-key="2"]')
    page.keyboard.press("1")
    page.fill('input[name="annotator"]', "ann")
    page.click('textarea[name="feedback"]')
    page.keyboard.type(RULE)
    page.keyboard.press("2")
    assert page.is_checked('input[data-key="1"]')
    page.keyboard.press("Backspace")
    start = time.perf_counter()
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/cases/c*?job=*")
    page.wait_for_selector("#job-after")
    latency = time.perf_counter() - start
    panel = page.inner_text(".job")
    assert RULE in panel and "(flipped)" in panel
    assert page.inner_text("#job-after") == "Pass"
    assert latency < 3.0, latency
    shot(page, "review")
    print(f"browser: Ctrl+Enter → new verdict shown in {latency:.3f}s")
    assert "/cases/c1" not in page.url  # "submit and next"
    assert page.input_value('input[name="annotator"]') == "ann"
    page.goto(base + "/judges/support/cases/c1")
    assert page.inner_text("#verdict-value") == "Pass"
    page.goto(base + "/judges/support")
    assert "1 of 4 reviewed" in page.inner_text("#progress")

    # Edit the guideline that was learned.
    page.goto(base + "/judges/support/memory")
    assert RULE in page.inner_text(".guidelines")
    shot(page, "memory")
    page.click(".guideline details summary")
    page.fill('.guideline details textarea[name="text"]', "Promising a refund is enough.")
    page.click(".guideline details button")
    assert "Promising a refund is enough." in page.inner_text(".guidelines")

    # Pin the rule that decides what the checks leave, then hand it back to memory.
    assert "decided by llm" in page.inner_text("#decision")
    page.select_option('#decision select[name="decision"]', "vote")
    page.click("#decision button")
    assert "decided by vote" in page.inner_text("#decision")
    assert "Pinned by hand." in page.inner_text("#decision")
    page.select_option('#decision select[name="decision"]', "auto")
    page.click("#decision button")
    assert "Pinned by hand." not in page.inner_text("#decision")

    # Forget the record, after the preview.
    page.fill('textarea[name="ids"]', "c1@ann")
    page.click("#forget-preview")
    assert "would remove 1 record(s)" in page.inner_text("#forget-summary")
    page.click("#forget-confirm")
    assert "Removed 1 record(s)" in page.inner_text("#forget-summary")
    store = open_store(store_path, create=False)
    judge_id = store.get_judge("support").judge_id
    assert store.get_records(judge_id) == [] and store.guidelines(judge_id) == []


def test_hostile_text_renders_as_text(
    server: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    base, _ = server
    rows = [json.loads(line) for line in (FIXTURES / "redteam.jsonl").read_text().splitlines()]
    hostile = [{"id": r["id"], "inputs": r["inputs"], "outputs": r["outputs"]} for r in rows[:10]]
    hostile.append(
        {
            "id": "xss",
            "inputs": "<script>window.__xss = 1</script>",
            "outputs": '<img src=x onerror="window.__xss = 2"><b>bold</b>',
        }
    )
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    upload(page, base, tmp_path, hostile)
    page.goto(base + "/judges/support/cases/xss")
    assert page.inner_text("#case-inputs") == "<script>window.__xss = 1</script>"
    assert page.inner_text("#case-outputs").startswith("<img src=x")
    assert page.locator("main img, main b").count() == 0
    page.keyboard.press("2")
    page.fill('input[name="annotator"]', '<img src=x onerror="window.__xss = 3">')
    page.fill('textarea[name="feedback"]', "<script>window.__xss = 4</script>")
    page.click("#submit-stay")
    page.wait_for_selector("#job-after")
    for url in ("/judges/support?status=all", "/judges/support/memory", "/"):
        page.goto(base + url)
        assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__xss") is None and dialogs == []


def test_two_experts_submitting_at_once(
    server: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    base, store_path = server
    first = browser.new_context().new_page()
    upload(first, base, tmp_path, CASES)
    second = browser.new_context().new_page()
    pages = [(first, "ann", "c1"), (second, "bob", "c2")]
    for page, name, case_id in pages:
        page.goto(f"{base}/judges/support/cases/{case_id}")
        page.keyboard.press("2")  # before any field has the focus
        page.fill('input[name="annotator"]', name)
        page.fill('textarea[name="feedback"]', "Replies must open with an apology.")
    for page, _, _ in pages:  # keyboard.press does not wait for the navigation
        page.focus('textarea[name="feedback"]')
    first.keyboard.press("Control+Enter")
    second.keyboard.press("Control+Enter")
    for page, _, _ in pages:
        page.wait_for_selector("#job-after")
    store = open_store(store_path, create=False)
    judge_id = store.get_judge("support").judge_id
    assert sorted(r.id for r in store.get_records(judge_id)) == ["c1@ann", "c2@bob"]
    guidelines = [g for g, _ in store.guidelines(judge_id)]
    assert [g.text for g in guidelines] == ["Replies must open with an apology."]
    assert sorted(guidelines[0].sources) == ["c1@ann", "c2@bob"]

    # More reviews, one of them contradicting ann: the queue and the agreement page show it.
    for page, _name, case_id, key in (
        (first, "ann", "c3", "2"),
        (second, "bob", "c3", "1"),
        (second, "bob", "c1", "2"),
    ):
        page.goto(f"{base}/judges/support/cases/{case_id}")
        page.keyboard.press(key)
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#job-after")
    first.goto(base + "/judges/support?status=all")
    assert "3 of 4 reviewed" in first.inner_text("#progress")
    assert "experts disagree" in first.inner_text("table.queue")
    shot(first, "queue")
    first.goto(base + "/judges/support/agreement")
    assert "2 cases labelled by several experts" in first.inner_text("#expert-agreement")
    assert first.locator("svg.curve polyline").count() == 1
    shot(first, "agreement")


def test_the_panel_polls_with_backoff_and_stops_when_the_job_ends(
    server: tuple[str, Path], browser: Any
) -> None:
    # A job that stays "running" (a slow model): once polled every 150 ms for ever.
    base, _ = server
    page = browser.new_page()
    polls: list[float] = []
    finished = {"now": False}
    panel = '<div class="job" data-job="j1" data-status="{0}"{1}>{0}</div>'

    def answer(route: Any) -> None:
        polls.append(time.monotonic())
        ended = finished["now"]
        body = panel.format("failed", "") if ended else panel.format("running", ' data-poll="1"')
        route.fulfill(body=body, content_type="text/html")

    page.route("**/jobs/j1/panel", answer)
    # A page holding a running job's panel, beside the real script.
    page.route(
        base + "/panel-test",
        lambda route: route.fulfill(
            content_type="text/html",
            body='<html><head><script src="/static/app.js" defer></script></head><body>'
            + panel.format("running", ' data-poll="1"')
            + "</body></html>",
        ),
    )
    page.goto(base + "/panel-test")
    page.wait_for_timeout(3000)
    running = len(polls)
    assert 2 <= running <= 5, running
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert gaps == sorted(gaps), gaps  # each wait longer than the last
    finished["now"] = True
    page.wait_for_selector('.job[data-status="failed"]', timeout=10000)
    after = len(polls)
    page.wait_for_timeout(3000)
    assert len(polls) == after  # a failed job is not polled again
