"""A deterministic OpenAI-compatible chat server on 127.0.0.1 that answers whatever is asked of
it in the shape asked: memalign's JSON-schema requests from the schema, DSPy's adapter prompts
from the output fields the prompt lists, GEPA's reflection prompts with a fenced instruction.
It counts what it receives, so the counting proxy can be checked against the far end."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

_OUTPUTS = re.compile(r"Your output fields are:\n(.*?)(?:\n\n|\nAll interactions)", re.S)
_FIELD = re.compile(r"`(\w+)` \(([^)]*(?:\)[^)`\n]*)?)\)")


@dataclass
class JudgeServer:
    url: str = ""
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _pick(choices: list[Any], text: str) -> Any:
    return choices[int(hashlib.sha256(text.encode()).hexdigest(), 16) % len(choices)]


def _from_schema(schema: dict[str, Any], text: str) -> Any:
    kind = schema.get("type")
    if "enum" in schema:
        return _pick(list(schema["enum"]), text)
    if kind == "object":
        return {k: _from_schema(v, text) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return "Judge by the house rules."


def _from_fields(spec: str, text: str) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for name, kind in _FIELD.findall(spec):
        if kind.startswith("Literal["):
            answer[name] = _pick(re.findall(r"'([^']*)'", kind), text)
        elif kind == "int":
            answer[name] = 3
        elif kind == "float":
            answer[name] = 0.5
        elif kind.startswith("list"):
            answer[name] = []
        else:
            answer[name] = "Judge by the house rules."
    return answer


def answer(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    last = str(messages[-1]["content"]) if messages else ""
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
    if schema:
        return json.dumps(_from_schema(schema, last))
    listed = _OUTPUTS.search(str(system))
    if listed:
        return json.dumps(_from_fields(listed.group(1), last))
    return "```\nJudge by the house rules; fail anything the rules forbid.\n```"


@pytest.fixture
def judge_server() -> Iterator[JudgeServer]:
    with serve() as state:
        yield state


@contextlib.contextmanager
def serve() -> Iterator[JudgeServer]:
    state = JudgeServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            with state.lock:
                state.received += 1
            n = max(1, int(body.get("n") or 1))
            content = answer(body)
            self._send(
                {
                    "id": "chatcmpl-judge",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": i,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                        for i in range(n)
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }
            )

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        http.shutdown()
        http.server_close()
