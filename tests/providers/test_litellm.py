from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from memalign import ProviderError
from memalign.providers import CompletionRequest, Message


class _Timeout(Exception):
    pass


class _Conn(Exception):
    pass


class _Status(Exception):
    status_code = 503


def _fake_litellm(behaviour: list[Any]) -> types.ModuleType:
    module = types.ModuleType("litellm")
    module.Timeout = _Timeout  # type: ignore[attr-defined]
    module.APIConnectionError = _Conn  # type: ignore[attr-defined]
    calls: list[dict[str, Any]] = []

    def completion(**kwargs: Any) -> Any:
        calls.append(kwargs)
        item = behaviour.pop(0)
        if isinstance(item, Exception):
            raise item
        message = types.SimpleNamespace(content=item)
        usage = types.SimpleNamespace(prompt_tokens=3, completion_tokens=2)
        return types.SimpleNamespace(choices=[types.SimpleNamespace(message=message)], usage=usage)

    module.completion = completion  # type: ignore[attr-defined]
    module.calls = calls  # type: ignore[attr-defined]
    return module


def test_litellm_adapter_maps_answers_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_litellm(['{"value": "A"}', _Timeout("t"), _Status("down")])
    monkeypatch.setitem(sys.modules, "litellm", fake)
    from memalign.providers.litellm import LiteLLMProvider

    provider = LiteLLMProvider("bedrock/some-model")
    request = CompletionRequest(messages=(Message("user", "x"),), schema={"type": "object"})
    completion = provider.complete(request)
    assert completion.text == '{"value": "A"}' and completion.prompt_tokens == 3
    assert fake.calls[0]["num_retries"] == 0  # type: ignore[attr-defined]
    with pytest.raises(ProviderError) as timeout:
        provider.complete(request)
    assert timeout.value.retryable
    with pytest.raises(ProviderError) as status:
        provider.complete(request)
    assert status.value.status == 503 and status.value.retryable


def test_missing_sdk_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from memalign.errors import DependencyError

    monkeypatch.setitem(sys.modules, "litellm", None)
    from memalign.providers.litellm import LiteLLMProvider

    with pytest.raises(DependencyError, match=r"memalign\[litellm\]"):
        LiteLLMProvider("x")
