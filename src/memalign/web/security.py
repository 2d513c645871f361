"""Who may use the page and how a request proves it came from it.

- Sessions are server-side (a random id in an HttpOnly, SameSite=Strict cookie), each with its
  own CSRF token; every POST carries that token in a form field and is refused without it.
- A server bound beyond loopback requires the access token: once in the URL (``?token=``),
  then in an HttpOnly cookie. A loopback server without a token accepts only loopback Host
  names, so a hostile page cannot reach it through DNS rebinding.
- Request bodies are bounded before they are read; responses forbid scripts from anywhere but
  the page's own static files, so text that slipped past escaping still could not run.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from memalign.web.config import LOOPBACK_NAMES, ServeConfig

SESSION_COOKIE = "memalign_session"
AUTH_COOKIE = "memalign_auth"
MAX_SESSIONS = 10_000
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class CSRFError(Exception):
    """A state-changing request without this session's token."""


@dataclass
class Session:
    id: str
    csrf: str
    annotator: str = ""


class Sessions:
    def __init__(self) -> None:
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            return self._items.get(session_id)

    def new(self) -> Session:
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        with self._lock:
            self._items[session.id] = session
            while len(self._items) > MAX_SESSIONS:
                self._items.popitem(last=False)
        return session


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


async def checked_form(request: Request) -> FormData:
    """The request's form, after its CSRF token is checked against the session's."""
    form = await request.form(max_files=4, max_fields=64)
    token = form.get("csrf")
    if not isinstance(token, str) or not secrets.compare_digest(
        token.encode(), session_of(request).csrf.encode()
    ):
        raise CSRFError()
    return form


def _host_name(request: Request) -> str:
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def guard(
    config: ServeConfig, sessions: Sessions
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The middleware every request goes through, in this order: body size, access (host or
    token), session, security headers."""

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await _check(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _check(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            return PlainTextResponse("method not allowed", status_code=405)
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return PlainTextResponse("a POST needs a Content-Length", status_code=411)
            if int(length) > config.max_body_bytes:
                return PlainTextResponse("request too large", status_code=413)
        if config.token:
            given = request.cookies.get(AUTH_COOKIE) or ""
            query = request.query_params.get("token")
            if query is not None and secrets.compare_digest(query.encode(), config.token.encode()):
                # Take the token out of the address bar (and history) at once.
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                target = request.url.path + (("?" + urlencode(rest)) if rest else "")
                redirect = RedirectResponse(target, status_code=303)
                redirect.set_cookie(AUTH_COOKIE, config.token, httponly=True, samesite="strict")
                return redirect
            if not secrets.compare_digest(given.encode(), config.token.encode()):
                return PlainTextResponse(
                    "this server needs its access token: open the address printed by "
                    "`memalign serve` (…/?token=…)",
                    status_code=401,
                )
        elif _host_name(request) not in LOOPBACK_NAMES:
            return PlainTextResponse("unexpected Host header", status_code=400)
        session = sessions.get(request.cookies.get(SESSION_COOKIE))
        fresh = session is None
        if session is None:
            if request.method == "POST":
                # No session, so no token could have been issued: refuse before parsing.
                return PlainTextResponse("missing or expired session", status_code=403)
            session = sessions.new()
        request.state.session = session
        response = await call_next(request)
        if fresh:
            response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict")
        return response

    return middleware
