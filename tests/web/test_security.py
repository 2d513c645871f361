from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute

from memalign.errors import InputError
from memalign.stores import MemoryStore
from memalign.web import ServeConfig
from tests.web.conftest import CASES, Page, job_of

TOKEN = "s3cret-token-for-tests"


def post_routes(page: Page) -> list[str]:
    app = page.client.app
    return [
        route.path.replace("{name}", "support")
        .replace("{case_id}", "c1")
        .replace("{guideline_id}", "g1")
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(
    loaded: Page, store: MemoryStore
) -> None:
    routes = post_routes(loaded)
    assert len(routes) == 5
    version = store.get_judge("support").version
    for path in routes:
        data = {"annotator": "ann", "label": "Pass", "text": "x", "action": "edit", "ids": "c1"}
        missing = loaded.client.post(path, data=data)
        wrong = loaded.client.post(path, data={**data, "csrf": "forged"})
        assert missing.status_code == 403, path
        assert wrong.status_code == 403, path
        assert "Form expired" in wrong.text
    # Without any session cookie a POST is refused before its body is read.
    fresh = loaded.client.__class__(loaded.client.app, base_url="http://127.0.0.1")
    assert fresh.post(routes[0], data={"csrf": loaded.csrf}).status_code == 403
    assert store.get_judge("support").version == version
    assert store.get_records(store.get_judge("support").judge_id) == []


def test_a_session_token_is_not_valid_in_another_session(
    loaded: Page, make_page: Callable[..., Page]
) -> None:
    other = make_page()
    other.get("/judges/support")
    assert other.csrf != loaded.csrf
    response = other.client.post(
        "/judges/support/cases/c1", data={"csrf": loaded.csrf, "annotator": "x", "label": "Pass"}
    )
    assert response.status_code == 403


def test_gets_change_nothing_and_other_methods_are_refused(page: Page) -> None:
    assert page.client.put("/judges/support").status_code == 405
    assert page.client.delete("/judges/support").status_code == 405


def test_loopback_server_refuses_foreign_host_names(page: Page) -> None:
    assert page.client.get("/", headers={"host": "evil.example:8000"}).status_code == 400
    assert page.client.get("/", headers={"host": "localhost:8000"}).status_code == 200
    assert page.client.get("/", headers={"host": "[::1]:8000"}).status_code == 200


def test_non_loopback_binding_requires_a_token() -> None:
    with pytest.raises(InputError, match="--token"):
        ServeConfig(host="0.0.0.0").check()
    with pytest.raises(InputError, match="12 characters"):
        ServeConfig(host="0.0.0.0", token="short").check()
    ServeConfig(host="0.0.0.0", token=TOKEN).check()
    ServeConfig(host="::1").check()


def test_token_is_required_then_kept_in_a_cookie(make_page: Callable[..., Page]) -> None:
    page = make_page(ServeConfig(host="0.0.0.0", token=TOKEN), base_url="http://10.1.2.3:8000")
    assert page.client.get("/").status_code == 401
    assert page.client.get("/?token=wrong").status_code == 401
    entered = page.client.get("/judges/support?token=" + TOKEN + "&status=all")
    assert entered.status_code == 303
    assert entered.headers["location"] == "/judges/support?status=all"  # token out of the URL
    assert "httponly" in entered.headers["set-cookie"].lower()
    assert page.client.get("/").status_code == 200
    page.client.cookies.clear()
    assert page.client.get("/").status_code == 401


def test_bodies_are_bounded(make_page: Callable[..., Page]) -> None:
    page = make_page(ServeConfig(max_body_bytes=2000))
    big = [{**CASES[0], "id": f"x{i}", "outputs": "y" * 100} for i in range(40)]
    assert page.upload("support", big).status_code == 413
    assert page.upload("support", CASES[:1]).status_code == 303


def test_security_headers_and_no_stack_traces(
    loaded: Page, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = loaded.get("/judges/support")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret /home/path/key=abc")

    monkeypatch.setattr(store, "get_records", boom)
    client = loaded.client.__class__(
        loaded.client.app, base_url="http://127.0.0.1", raise_server_exceptions=False
    )
    crashed = client.get("/judges/support")
    assert crashed.status_code == 500
    assert "secret" not in crashed.text and "Traceback" not in crashed.text
    assert "Something went wrong" in crashed.text


def test_upload_job_reports_progress(page: Page) -> None:
    response = page.upload("support", CASES)
    job = page.wait_job(job_of(response))
    assert job["kind"] == "judge" and job["result"] == {"judged": len(CASES)}
