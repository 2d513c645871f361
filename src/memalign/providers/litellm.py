"""Everything else through LiteLLM (optional extra; versions known to be compromised on PyPI
are excluded by the extra's pin)."""

from __future__ import annotations

from typing import Any

from memalign.errors import DependencyError, ProviderError
from memalign.providers.base import Completion, CompletionRequest
from memalign.providers.http_status import from_status, transport_error


class LiteLLMProvider:
    def __init__(self, model: str, *, timeout: float = 60.0) -> None:
        try:
            import litellm
        except ImportError:
            raise DependencyError("litellm", "pip install 'memalign[litellm]'") from None
        self._litellm: Any = litellm  # typed loosely: its exports vary across releases
        self.model = model
        self.name = model
        self.timeout = timeout

    def complete(self, request: CompletionRequest) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "timeout": self.timeout,
            "num_retries": 0,
        }
        if request.schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(request.schema)},
            }
        try:
            response = self._litellm.completion(**kwargs)
        except self._litellm.Timeout as exc:
            raise transport_error(self.name, str(exc)) from None
        except self._litellm.APIConnectionError as exc:
            raise transport_error(self.name, str(exc)) from None
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if isinstance(status, int):
                headers = getattr(getattr(exc, "response", None), "headers", None)
                raise from_status(self.name, status, str(exc), headers) from None
            raise ProviderError(str(exc), provider=self.name) from None
        usage = getattr(response, "usage", None)
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            model=self.model,
        )
