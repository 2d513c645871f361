from __future__ import annotations

import json

import pytest

from memalign import ProviderError
from memalign.providers import CompletionRequest, Message
from memalign.providers.anthropic import AnthropicProvider
from memalign.providers.client import ModelClient

from ..scripted_http import Reply, ScriptedServer

REQUEST = CompletionRequest(
    messages=(Message("system", "be a judge"), Message("user", "case")),
    schema={"type": "object", "properties": {"value": {"type": "string"}}},
)


def _message(blocks: list[dict[str, object]]) -> dict[str, object]:
    return {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": blocks,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 7},
    }


def _client(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, timeout: float = 5
) -> ModelClient:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    return ModelClient(AnthropicProvider("claude-x", timeout=timeout), sleep=lambda _: None)


def test_tool_call_answer_and_429_retry(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(
        Reply(
            429,
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
            {"retry-after": "0"},
        ),
        Reply(
            200,
            _message(
                [{"type": "tool_use", "id": "t", "name": "answer", "input": {"value": "Pass"}}]
            ),
        ),
    )
    completion = _client(server, monkeypatch).complete(REQUEST)
    assert json.loads(completion.text) == {"value": "Pass"}
    assert (completion.prompt_tokens, completion.completion_tokens) == (20, 7)
    assert server.requests[1]["path"] == "/v1/messages"
    sent = server.requests[1]["body"]
    assert sent["system"] == "be a judge" and sent["tool_choice"]["name"] == "answer"
    assert [m["role"] for m in sent["messages"]] == ["user"]


def test_timeout_and_malformed_text(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(*[Reply(200, _message([]), delay=0.6) for _ in range(5)])
    with pytest.raises(ProviderError) as info:
        _client(server, monkeypatch, timeout=0.2).complete(REQUEST)
    assert info.value.retryable
    server.script(Reply(200, _message([{"type": "text", "text": "{value: Pass"}])))
    text = _client(server, monkeypatch).complete(REQUEST).text
    assert text == "{value: Pass"  # the core's parsing ladder reads this
