from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from memalign import open_store
from memalign.errors import InputError, StoreError
from memalign.stores import MemoryStore
from memalign.web import ServeConfig, create_app, security
from memalign.web.queue import sidecar_path
from memalign.web.security import HEADERS
from tests.web.conftest import CASES, Page, job_of, make_store, opener

TOKEN = "s3cret-token-for-tests"


def post_routes(page: Page) -> list[str]:
    app = page.client.app
    return [
        route.path.replace("{name}", "support")
        .replace("{case_id:path}", "c1")
        .replace("{guideline_id}", "g1")
        .replace("{job_id}", "j1")
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(
    loaded: Page, store: MemoryStore
) -> None:
    routes = post_routes(loaded)
    assert len(routes) == 8  # each one below refuses a missing or forged token
    version = store.get_judge("support").version
    for path in routes:
        data = {"annotator": "ann", "label": "Pass", "text": "x", "action": "edit", "ids": "c1",
                "decision": "vote"}  # fmt: skip
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


def files_of(store: MemoryStore) -> dict[str, bytes]:
    """The bytes of the store and of the queue beside it, journals included."""
    base = Path(store.location)
    return {
        path.name: path.read_bytes()
        for path in sorted(base.parent.glob(base.name + "*"))
        if not path.name.endswith(("-shm", ".lock"))
    }


def test_gets_change_nothing_and_other_methods_are_refused(
    loaded: Page, store: MemoryStore
) -> None:
    response = loaded.post(
        "/judges/support/cases/c1",
        {"annotator": "ann", "label": "Pass", "feedback": "A refund promise is enough."},
    )
    job_id = job_of(response)
    loaded.wait_job(job_id, flips=True)
    before = files_of(store)
    assert any(name.endswith(".review.db") for name in before)
    gid = store.guidelines(store.get_judge("support").judge_id)[0][0].id
    pages = [
        "/",
        "/judges/support",
        "/judges/support?status=all&verdict=Pass&q=refund&page=2",
        "/judges/support/cases/c1",
        "/judges/support/cases/c2?job=" + job_id,
        "/judges/support/memory",
        "/judges/support/agreement",
        "/judges/compare",
        "/judges/compare/memory",
        "/judges/compare/agreement",
        f"/jobs/{job_id}.json",
        f"/jobs/{job_id}/panel",
        # GETs of the POST routes, and with the parameters a form would send.
        "/judges/support/cases",
        f"/judges/support/guidelines/{gid}?action=retire",
        "/judges/support/forget?annotator=ann&action=forget",
        f"/jobs/{job_id}/retry",
        "/static/app.js",
    ]
    for path in pages:
        assert loaded.get(path).status_code in (200, 404, 405), path
    assert files_of(store) == before
    assert loaded.client.put("/judges/support").status_code == 405
    assert loaded.client.delete("/judges/support").status_code == 405


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

    monkeypatch.setattr(store, "record_hashes", boom)
    client = loaded.client.__class__(
        loaded.client.app, base_url="http://127.0.0.1", raise_server_exceptions=False
    )
    crashed = client.get("/judges/support")
    assert crashed.status_code == 500
    assert "secret" not in crashed.text and "Traceback" not in crashed.text
    assert "Something went wrong" in crashed.text
    # The crash handler answers outside the middleware: the headers must still be there.
    for name, value in HEADERS.items():
        assert crashed.headers.get(name) == value, name


def test_upload_job_reports_progress(page: Page) -> None:
    response = page.upload("support", CASES)
    job = page.wait_job(job_of(response))
    assert job["kind"] == "judge" and job["result"] == {"judged": len(CASES)}


def test_error_pages_name_no_server_path(
    loaded: Page, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = loaded.get("/judges/nope")
    assert missing.status_code == 404
    assert "unknown judge &#39;nope&#39;" in missing.text
    assert store.location not in missing.text and "store" not in missing.text
    case = loaded.get("/judges/support/cases/nope")
    assert case.status_code == 404 and store.location not in case.text

    def broken(*args: object, **kwargs: object) -> None:
        raise StoreError("disk I/O error", location=store.location)

    monkeypatch.setattr(store, "get_judge", broken)
    failed = loaded.get("/judges/support")
    assert failed.status_code == 400
    assert "the store could not do that" in failed.text
    assert store.location not in failed.text and "disk I/O" not in failed.text


def test_a_read_only_store_is_shown_and_refuses_changes_up_front(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sidecar = Path(sidecar_path(store.location))
    monkeypatch.setattr(store, "read_only", True)  # as SQLiteStore sets it on read-only media
    app = create_app(store, opener(store))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        page = Page(client)
        body = page.get("/judges/support").text
        assert 'id="read-only"' in body
        for path in ("/judges/support/cases", "/judges/support/guidelines"):
            refused = page.post(path, {"text": "x"})
            assert refused.status_code == 403 and "read-only" in refused.text
        assert page.get("/judges/support/memory").status_code == 200
        assert page.get("/judges/support/agreement").status_code == 200
    # No queue file could be made beside a store on read-only media.
    assert not sidecar.exists()


def test_cookieless_requests_cannot_push_an_experts_session_out(
    loaded: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hostile page making the browser fetch the server over and over (<img src=…>): once,
    # each such fetch made a session and the oldest went, voiding the expert's open form.
    monkeypatch.setattr(security, "MAX_SESSIONS", 5, raising=False)
    hostile = TestClient(loaded.client.app, base_url="http://127.0.0.1")
    for _ in range(20):
        hostile.get("/")
        hostile.cookies.clear()
    response = loaded.post(
        "/judges/support/cases/c1", {"annotator": "ann", "label": "Pass", "next": "1"}
    )
    assert response.status_code == 303, response.text


def test_the_annotator_is_remembered_in_a_signed_cookie(loaded: Page) -> None:
    loaded.post("/judges/support/cases/c1", {"annotator": "Ann <x>", "label": "Pass"})
    assert "reviewing as <strong>Ann &lt;x&gt;</strong>" in loaded.get("/judges/support").text
    cookie = loaded.client.cookies.get(security.ANNOTATOR_COOKIE)
    assert cookie and "." in cookie
    # Forged, or taken from another session: ignored.
    _, _, mac = cookie.rpartition(".")
    loaded.client.cookies.delete(security.ANNOTATOR_COOKIE)
    loaded.client.cookies.set(security.ANNOTATOR_COOKIE, "mallory." + mac)
    assert "reviewing as" not in loaded.get("/judges/support").text
    other = TestClient(loaded.client.app, base_url="http://127.0.0.1")
    other.get("/")
    other.cookies.set(security.ANNOTATOR_COOKIE, cookie)
    assert "reviewing as" not in other.get("/judges/support").text


def test_a_store_on_real_read_only_media_is_served(tmp_path: Path) -> None:
    from tests.stores.test_read_only import _mount_read_only, _unmount

    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    source, target = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    make_store(source / "web.db").close()
    _mount_read_only(source, target)
    try:
        store = open_store(target / "web.db", create=False)
        assert store.read_only  # type: ignore[attr-defined]
        app = create_app(store, opener(store))
        with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
            page = Page(client)
            assert 'id="read-only"' in page.get("/judges/support").text
            assert "/judges/support" in page.get("/").text
            refused = page.upload("support", CASES)
            assert refused.status_code == 403 and "read-only" in refused.text
        store.close()
        assert sorted(p.name for p in source.iterdir()) == ["web.db"]
    finally:
        _unmount(target)


MARIA, BOB = "maria-token-0001", "bob-token-000002"


def test_each_user_signs_in_with_their_own_token_and_reviews_as_themselves(
    make_page: Callable[..., Page], store: MemoryStore
) -> None:
    config = ServeConfig(host="0.0.0.0", users={MARIA: "maria", BOB: "bob"})
    page = make_page(config, base_url="http://10.1.2.3:8000")
    assert page.client.get("/").status_code == 401
    assert page.client.get("/?token=" + TOKEN).status_code == 401
    entered = page.client.get("/judges/support?token=" + MARIA)
    assert entered.status_code == 303 and entered.headers["location"] == "/judges/support"
    page.wait_job(job_of(page.upload("support", CASES[:1])))
    body = page.get("/judges/support/cases/c1").text
    assert "reviewing as <strong>maria</strong>" in body
    assert 'name="annotator" maxlength="80" required value="maria" readonly' in body
    # The form says bob; the token says maria.
    response = page.post("/judges/support/cases/c1", {"annotator": "bob", "label": "Pass"})
    page.wait_job(job_of(response))
    records = store.get_records(store.get_judge("support").judge_id)
    assert [(r.id, r.annotator) for r in records] == [("c1@maria", "maria")]
    page.client.cookies.clear()
    assert page.client.get("/").status_code == 401


def test_users_files_and_options_are_checked(tmp_path: Path) -> None:
    from memalign.web.config import load_users

    ServeConfig(host="0.0.0.0", users={MARIA: "maria"}).check()
    with pytest.raises(InputError, match="not both"):
        ServeConfig(host="0.0.0.0", token=TOKEN, users={MARIA: "maria"}).check()
    with pytest.raises(InputError, match="shorter than 12"):
        ServeConfig(host="0.0.0.0", users={"short": "maria"}).check()
    with pytest.raises(InputError, match="annotator names"):
        ServeConfig(host="0.0.0.0", users={MARIA: " "}).check()
    good = tmp_path / "users.json"
    good.write_text(json.dumps({"maria": MARIA, "bob": BOB}))
    assert load_users(good) == {MARIA: "maria", BOB: "bob"}
    for text, message in (
        ("[1]", "expected"),
        ("{", "not JSON"),
        (json.dumps({"maria": MARIA, "bob": MARIA}), "share a token"),
        (json.dumps({"maria": 5}), "not a string"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            load_users(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_users(tmp_path / "missing.json")
