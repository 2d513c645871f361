"""Who may use the page and how a request proves it came from it.

- Sessions keep no state on the server: a random id in an HttpOnly, SameSite=Strict cookie,
  and a CSRF token that is an HMAC of that id under a secret drawn at start-up; every POST
  carries the token in a form field and is refused without it. The annotator's name rides in
  a cookie signed the same way. With nothing stored per session, a hostile page that makes the
  browser fetch the server many times cannot push an expert's session out and void their form.
- A server bound beyond loopback requires the access token: once in the URL (``?token=``),
  then in an HttpOnly cookie. With ``--users`` each expert has their own token, and their
  reviews carry the name it belongs to, not whatever a form says. A loopback server without a
  token accepts only loopback Host names, so a hostile page cannot reach it through DNS
  rebinding.
- Request bodies are bounded before they are read; responses forbid scripts from anywhere but
  the page's own static files, so text that slipped past escaping still could not run.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from memalign.web.config import LOOPBACK_NAMES, ServeConfig

SESSION_COOKIE = "memalign_session"
AUTH_COOKIE = "memalign_auth"
ANNOTATOR_COOKIE = "memalign_annotator"
# What ``secrets.token_urlsafe(32)`` makes; anything else in the cookie starts a new session.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")
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
    # With ``--users``: who signed in; reviews are theirs whatever the form says.
    user: str | None = None


class Signer:
    """HMACs under a secret that lives as long as the server: restarting it voids open forms,
    as it would with sessions kept in memory."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def sign(self, purpose: str, value: str) -> str:
        message = f"{purpose}\0{value}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def session(self, session_id: str, annotator_cookie: str | None) -> Session:
        return Session(
            id=session_id,
            csrf=self.sign("csrf", session_id),
            annotator=self.annotator(session_id, annotator_cookie),
        )

    def annotator(self, session_id: str, cookie: str | None) -> str:
        name, _, mac = (cookie or "").rpartition(".")
        if not name or not secrets.compare_digest(
            mac.encode(), self.sign("annotator", f"{session_id}\0{name}").encode()
        ):
            return ""
        return unquote(name)

    def annotator_cookie(self, session_id: str, annotator: str) -> str:
        name = quote(annotator, safe="")
        mac = self.sign("annotator", f"{session_id}\0{name}")
        return f"{name}.{mac}"


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


def _match(tokens: dict[str, str], given: str) -> str | None:
    """Whose token ``given`` is ("" for the shared one), comparing with every token in
    constant time so the answer's timing tells nothing."""
    found = None
    for token, name in tokens.items():
        if secrets.compare_digest(given.encode(), token.encode()):
            found = name
    return found


def guard(
    config: ServeConfig, signer: Signer, *, read_only: bool = False
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The middleware every request goes through, in this order: body size, access (host or
    token), a read-only store's refusal of changes, session, security headers."""

    # Token -> annotator name ("" for the one shared token).
    tokens = dict(config.users or {}) or ({config.token: ""} if config.token else {})

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
        user: str | None = None
        if tokens:
            query = request.query_params.get("token")
            if query is not None and _match(tokens, query) is not None:
                # Take the token out of the address bar (and history) at once.
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                target = request.url.path + (("?" + urlencode(rest)) if rest else "")
                redirect = RedirectResponse(target, status_code=303)
                redirect.set_cookie(AUTH_COOKIE, query, httponly=True, samesite="strict")
                return redirect
            found = _match(tokens, request.cookies.get(AUTH_COOKIE) or "")
            if found is None:
                return PlainTextResponse(
                    "this server needs its access token: open the address printed by "
                    "`memalign serve` (…/?token=…)",
                    status_code=401,
                )
            user = found or None
        elif _host_name(request) not in LOOPBACK_NAMES:
            return PlainTextResponse("unexpected Host header", status_code=400)
        if read_only and request.method == "POST":
            return PlainTextResponse(
                "this store is read-only (read-only media): nothing can be changed here",
                status_code=403,
            )
        session_id = request.cookies.get(SESSION_COOKIE) or ""
        fresh = SESSION_ID.fullmatch(session_id) is None
        if fresh:
            if request.method == "POST":
                # No session, so no token could have been issued: refuse before parsing.
                return PlainTextResponse("missing or expired session", status_code=403)
            session_id = secrets.token_urlsafe(32)
        session = signer.session(session_id, request.cookies.get(ANNOTATOR_COOKIE))
        if user is not None:
            session.user = session.annotator = user
        known = session.annotator
        request.state.session = session
        response = await call_next(request)
        if fresh:
            response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict")
        if session.annotator != known and user is None:
            response.set_cookie(
                ANNOTATOR_COOKIE,
                signer.annotator_cookie(session.id, session.annotator),
                httponly=True,
                samesite="strict",
            )
        return response

    return middleware
