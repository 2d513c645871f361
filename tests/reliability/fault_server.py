"""A fake OpenAI-compatible chat server on 127.0.0.1 that fails on cue: 429s, 5xx, timeouts and
dropped connections, chosen per record by a marker in the case text, so a run can be checked
record by record."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

MARK = re.compile(r"\b(ok|flaky-429|flaky-500|flaky-503|flaky-timeout|flaky-reset|dead)-(\d+)\b")


@dataclass
class FaultServer:
    url: str = ""
    timeout_sleep: float = 1.5
    healed: bool = False
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, key: str, kind: str) -> str | None:
        """The fault for this attempt at this record, or None to answer."""
        with self.lock:
            self.attempts[key] += 1
            first = self.attempts[key] == 1
        if kind == "dead" and not self.healed:
            return "500"
        if kind.startswith("flaky-") and first:
            return kind.removeprefix("flaky-")
        return None


def _completion(value: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": 0,
            "model": "fault",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": json.dumps({"rationale": "fine", "value": value}),
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
        }
    ).encode()


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    state = FaultServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            user = json.loads(body)["messages"][-1]["content"]
            # The case under judgement is the last marker in the prompt (examples come first).
            marks = MARK.findall(user)
            kind, number = marks[-1] if marks else ("ok", "0")
            fault = state.fault(f"{kind}-{number}", kind)
            quick = {"retry-after-ms": "5"}
            try:
                if fault is None:
                    self._send(200, _completion("Pass"), {})
                elif fault == "timeout":
                    time.sleep(state.timeout_sleep)
                    self._send(200, _completion("Pass"), {})
                elif fault == "reset":
                    self.close_connection = True
                    self.connection.close()
                else:
                    error = json.dumps({"error": {"message": f"injected {fault}"}}).encode()
                    self._send(int(fault), error, quick)
            except OSError:
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    httpd.shutdown()
    httpd.server_close()
