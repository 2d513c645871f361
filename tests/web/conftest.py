from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")

from fastapi.testclient import TestClient

from memalign import Judge, JudgeSpec, Labels, Pairwise, open_store
from memalign.stores import MemoryStore
from memalign.testing import FakeLLM, HashEmbedder
from memalign.web import ServeConfig, create_app

CASES = [
    {"id": "c1", "inputs": "I was charged twice for my order", "outputs": "Refund in 5 days."},
    {"id": "c2", "inputs": "Where is my parcel?", "outputs": "Sorry! Ticket #44 ships today."},
    {"id": "c3", "inputs": "Can I pay with a voucher?", "outputs": "Unlike CompetitorCo, yes."},
    {"id": "c4", "inputs": "My parcel arrived broken", "outputs": "Sorry! Ticket #45: a new one."},
]
FIXTURES = Path(__file__).parents[1] / "fixtures"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def opener(store: MemoryStore) -> Callable[[str], Judge]:
    return lambda name: Judge.load(store, name, llm=FakeLLM(), embedder=HashEmbedder())


def make_store(path: Path, *, pairwise: bool = False) -> MemoryStore:
    store = open_store(path)
    Judge.create(
        store,
        JudgeSpec(
            name="support",
            instructions="Is {{ outputs }} a good reply to {{ inputs }}?",
            output=Labels(("Pass", "Fail")),
        ),
        llm=FakeLLM(),
        embedder=HashEmbedder(),
    )
    if pairwise:
        Judge.create(
            store,
            JudgeSpec(
                name="compare",
                instructions="Which reply to {{ inputs }} is better: {{ outputs }}?",
                output=Pairwise(),
            ),
            llm=FakeLLM(),
            embedder=HashEmbedder(),
        )
    return store


@pytest.fixture
def store(tmp_path: Path) -> MemoryStore:
    return make_store(tmp_path / "web.db", pairwise=True)


class Page:
    """A TestClient with the session's CSRF token at hand."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if not self.csrf:
            self.get("/judges/support")
        return self.client.post(url, data={"csrf": self.csrf, **(data or {})}, **kwargs)

    def upload(self, judge: str, rows: list[dict[str, Any]], name: str = "cases.jsonl") -> Any:
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return self.post(
            f"/judges/{judge}/cases", files={"cases": (name, body, "application/jsonl")}
        )

    def wait_job(self, job_id: str, *, flips: bool = False, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(f"/jobs/{job_id}.json").json()
            if job["status"] == "failed" or (
                job["status"] == "done" and (not flips or job["flips_checked"])
            ):
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} did not finish")


def job_of(response: Any) -> str:
    found = re.search(r"[?&]job=([0-9a-f]+)", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


@pytest.fixture
def make_page(store: MemoryStore) -> Iterator[Callable[..., Page]]:
    clients: list[TestClient] = []

    def make(config: ServeConfig | None = None, base_url: str = "http://127.0.0.1") -> Page:
        app = create_app(store, opener(store), config)
        client = TestClient(app, base_url=base_url, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return Page(client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def page(make_page: Callable[..., Page]) -> Page:
    return make_page()


@pytest.fixture
def loaded(page: Page) -> Page:
    """A page whose support queue holds CASES, judged."""
    response = page.upload("support", CASES)
    assert response.status_code == 303, response.text
    page.wait_job(job_of(response))
    return page
