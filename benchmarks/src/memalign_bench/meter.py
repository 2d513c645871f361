"""A counting HTTP proxy: the one meter both memalign and the DSPy optimisers are measured by.

Client-side counters disagree with each other and undercount under threads (DSPy's
``lm.history`` and ``track_usage`` both miss calls), so the side-by-side comparison counts at
the HTTP layer instead. Every method talks to the same OpenAI-compatible server through this
proxy, under its own path prefix ``/t/<tag>/...``; the proxy forwards the request unchanged and
adds the request, its wall time and the ``usage`` the server reported to that tag's tally.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from memalign.records import Usage

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Tally:
    """What one tag sent: requests (failed ones too), tokens the server reported, busy time."""

    requests: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def usage(self) -> Usage:
        return Usage(
            llm_calls=self.requests,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
        )


class CountingProxy:
    """Forward ``/t/<tag>/<path>`` to ``<upstream>/<path>``, tallying each request under ``tag``.

    ``with CountingProxy("http://127.0.0.1:8080") as proxy:`` starts it on a free local port;
    ``proxy.base_url("mipro")`` is the OpenAI base URL a client under that tag uses.
    """

    def __init__(self, upstream: str, *, timeout: float = 600.0) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self._timeout = timeout
        self._lock = threading.Lock()
        self._tallies: dict[str, Tally] = {}
        self._closed: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def base_url(self, tag: str, suffix: str = "/v1") -> str:
        if not tag or "/" in tag:
            raise ValueError(f"a tag is one non-empty path segment, got {tag!r}")
        return f"http://127.0.0.1:{self.port}/t/{urllib.parse.quote(tag)}{suffix}"

    def tally(self, tag: str) -> Tally:
        with self._lock:
            found = self._tallies.get(tag, Tally())
            return Tally(**vars(found))

    def tallies(self) -> dict[str, Tally]:
        with self._lock:
            return {tag: Tally(**vars(t)) for tag, t in self._tallies.items()}

    def close_tag(self, tag: str) -> None:
        """Refuse the tag's later requests (410, not forwarded, not counted): an optimiser
        stopped mid-run leaves worker threads that would otherwise keep calling the model."""
        with self._lock:
            self._closed.add(tag)

    def _is_closed(self, tag: str) -> bool:
        with self._lock:
            return tag in self._closed

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _record(self, tag: str, status: int, body: bytes, seconds: float) -> None:
        usage: dict[str, Any] = {}
        if status < 400:
            try:
                parsed = json.loads(body)
                usage = parsed.get("usage") or {} if isinstance(parsed, dict) else {}
            except (ValueError, UnicodeDecodeError):
                usage = {}
        with self._lock:
            tally = self._tallies.setdefault(tag, Tally())
            tally.requests += 1
            tally.failed += status >= 400
            tally.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            tally.completion_tokens += int(usage.get("completion_tokens") or 0)
            tally.seconds += seconds

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection_type = (
            http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(self._host, self._port, timeout=self._timeout)
        try:
            connection.request(method, self._prefix + path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                parts = self.path.split("/", 3)  # "", "t", tag, rest
                if len(parts) < 4 or parts[1] != "t" or not parts[2]:
                    self._reply(404, [], b'{"error": "path must start with /t/<tag>/"}')
                    return
                tag = urllib.parse.unquote(parts[2])
                if proxy._is_closed(tag):
                    self._drain()
                    self._reply(410, [], b'{"error": "this run stopped"}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                started = time.perf_counter()
                try:
                    status, reply_headers, reply = proxy._forward(
                        self.command, "/" + parts[3], headers, body
                    )
                except OSError as exc:
                    status, reply_headers = 502, []
                    reply = json.dumps({"error": f"upstream unreachable: {exc}"}).encode()
                if self.command == "POST":
                    proxy._record(tag, status, reply, time.perf_counter() - started)
                self._reply(status, reply_headers, reply)

            def _drain(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _relay
            do_POST = _relay

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a request log per call would bury the progress bar

        return Handler
