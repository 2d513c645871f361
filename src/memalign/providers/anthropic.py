"""Anthropic's Messages API through the ``anthropic`` SDK (optional extra).

Structured output uses a forced tool call whose input schema is the answer schema. Sampling
temperature is not sent: current SDK releases no longer accept it on ``messages.create``."""

from __future__ import annotations

import json
import os
from typing import Any

from memalign.errors import DependencyError, ProviderError
from memalign.providers.base import Completion, CompletionRequest
from memalign.providers.http_status import from_status, transport_error


class AnthropicProvider:
    def __init__(self, model: str, *, timeout: float = 60.0, client: Any = None) -> None:
        try:
            import anthropic
        except ImportError:
            raise DependencyError("anthropic", "pip install 'memalign[anthropic]'") from None
        self._sdk = anthropic
        self.model = model
        self.name = model
        if client is None and not os.environ.get("ANTHROPIC_API_KEY"):
            raise ProviderError(f"set ANTHROPIC_API_KEY to use {model}", provider="anthropic")
        self._client = client or anthropic.Anthropic(timeout=timeout, max_retries=0)

    def complete(self, request: CompletionRequest) -> Completion:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [
                {"role": m.role, "content": m.content}
                for m in request.messages
                if m.role != "system"
            ],
        }
        if system:
            kwargs["system"] = system
        if request.schema is not None:
            kwargs["tools"] = [
                {
                    "name": "answer",
                    "description": "Give the answer.",
                    "input_schema": dict(request.schema),
                }
            ]
            kwargs["tool_choice"] = {"type": "tool", "name": "answer"}
        try:
            response = self._client.messages.create(**kwargs)
        except self._sdk.APIStatusError as exc:
            raise from_status(
                self.name, exc.status_code, exc.message, dict(exc.response.headers)
            ) from None
        except (self._sdk.APITimeoutError, self._sdk.APIConnectionError) as exc:
            raise transport_error(self.name, str(exc)) from None
        parts = []
        for block in response.content:
            if block.type == "tool_use":
                parts.append(json.dumps(block.input))
            elif block.type == "text":
                parts.append(block.text)
        return Completion(
            text="\n".join(parts),
            prompt_tokens=response.usage.input_tokens,
            completion_tokens=response.usage.output_tokens,
            model=response.model or self.model,
        )
