from __future__ import annotations

import math

import pytest

from memalign import Judge, JudgeSpec, Labels, ProviderError, open_store
from memalign.providers import CompletionRequest, Message
from memalign.providers.client import ModelClient
from memalign.providers.openai_compat import OpenAICompatible
from memalign.testing import HashEmbedder

from ..scripted_http import Reply, ScriptedServer

REQUEST = CompletionRequest(
    messages=(Message("system", "s"), Message("user", "u")),
    schema={"type": "object"},
    max_tokens=50,
)


def _chat(text: str, logprobs: object = None) -> dict[str, object]:
    choice: dict[str, object] = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": text},
    }
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [choice],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


def _client(server: ScriptedServer, timeout: float = 5) -> ModelClient:
    provider = OpenAICompatible("m", base_url=server.url + "/v1", timeout=timeout)
    return ModelClient(provider, sleep=lambda _: None)


def test_429_then_success_is_retried_and_counted_once(server: ScriptedServer) -> None:
    server.script(
        Reply(429, {"error": {"message": "slow"}}, {"retry-after": "0"}),
        Reply(200, _chat('{"value": "Pass", "rationale": "ok"}')),
    )
    from memalign.accounting import Meter

    meter = Meter()
    completion = _client(server).complete(REQUEST, meter)
    assert completion.text.startswith('{"value"') and len(server.requests) == 2
    assert meter.snapshot().llm_calls == 1 and meter.snapshot().prompt_tokens == 12
    assert server.requests[1]["path"] == "/v1/chat/completions"
    sent = server.requests[1]["body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["max_tokens"] == 50 and sent["messages"][0]["role"] == "system"


def test_timeout_then_success(server: ScriptedServer) -> None:
    server.script(Reply(200, _chat("late"), delay=1.0), Reply(200, _chat('{"value": "Pass"}')))
    assert _client(server, timeout=0.3).complete(REQUEST).text == '{"value": "Pass"}'
    assert len(server.requests) == 2


def test_timeouts_surface_as_retryable_provider_errors(server: ScriptedServer) -> None:
    server.script(*[Reply(200, _chat("late"), delay=0.6) for _ in range(5)])
    with pytest.raises(ProviderError) as info:
        _client(server, timeout=0.2).complete(REQUEST)
    assert info.value.retryable


def test_client_errors_are_not_retried(server: ScriptedServer) -> None:
    server.script(Reply(400, {"error": {"message": "bad"}}))
    with pytest.raises(ProviderError) as info:
        _client(server).complete(REQUEST)
    assert info.value.status == 400 and len(server.requests) == 1


def test_malformed_json_goes_through_the_parsing_ladder(server: ScriptedServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.script(
        Reply(200, _chat("Verdict: {'value': 'Fail', 'rationale': 'rude',}")),
        Reply(200, _chat("no idea")),
        Reply(200, _chat("still no idea")),
    )
    spec = JudgeSpec(name="j", instructions="x", output=Labels(("Pass", "Fail")))
    judge = Judge.create(
        open_store(tmp_path / "m.db"), spec, llm=_client(server), embedder=HashEmbedder()
    )
    assert judge.judge(inputs="q", outputs="a").value == "Fail"
    broken = judge.judge(inputs="q", outputs="b")
    assert broken.value is None and broken.error is not None and broken.usage.llm_calls == 2


def test_logprobs_become_choice_probabilities(server: ScriptedServer) -> None:
    text = '{"rationale": "ok", "value": "Pass"}'
    pieces = ['{"', "rationale", '":', ' "', "ok", '",', ' "', "value", '":', ' "', "Pass", '"}']
    assert "".join(pieces) == text
    content = [{"token": p, "logprob": 0.0, "top_logprobs": []} for p in pieces]
    content[10]["top_logprobs"] = [
        {"token": "Pass", "logprob": math.log(0.7)},
        {"token": "Fail", "logprob": math.log(0.2)},
        {"token": "P", "logprob": math.log(0.05)},
    ]
    server.script(Reply(200, _chat(text, content)))
    request = CompletionRequest(messages=REQUEST.messages, choices=("Pass", "Fail"))
    completion = _client(server).complete(request)
    assert completion.choice_probs == pytest.approx({"Pass": 0.75, "Fail": 0.2})
    sent = server.requests[0]["body"]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20


def test_keys_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        OpenAICompatible("gpt-4.1-mini")


def test_a_server_without_json_schema_mode_gets_a_weaker_one(server: ScriptedServer) -> None:
    rejected = {"detail": "response_format.type: Input should be 'text' or 'json_object'"}
    server.script(
        Reply(422, rejected),
        Reply(200, _chat('{"value": "Pass"}')),
        Reply(200, _chat('{"value": "Fail"}')),
    )
    client = _client(server)
    assert client.complete(REQUEST).text == '{"value": "Pass"}'
    client.complete(REQUEST)
    formats = [r["body"]["response_format"] for r in server.requests]
    assert formats[0]["type"] == "json_schema"
    assert formats[1] == formats[2] == {"type": "json_object", "schema": {"type": "object"}}
