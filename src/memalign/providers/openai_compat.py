"""Any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp's server,
Databricks serving) through the ``openai`` SDK. Keys come only from environment variables."""

from __future__ import annotations

import os
from typing import Any

from memalign.errors import DependencyError, ProviderError
from memalign.prompts.answers import parse_verdict
from memalign.providers.base import Completion, CompletionRequest
from memalign.providers.http_status import from_status, transport_error
from memalign.providers.logprobs import choice_probs_from_top, token_at, value_offset

_WEAKER = {"json_schema": "json_object_schema", "json_object_schema": "none"}


def load_sdk() -> Any:  # shared with the embeddings adapter
    try:
        import openai
    except ImportError:
        raise DependencyError("openai", "pip install 'memalign[openai]'") from None
    return openai


def make_client(
    model: str, *, base_url: str | None, api_key_env: str, timeout: float, azure: bool = False
) -> Any:
    """An SDK client with the key from the environment and the SDK's own retries off (the core
    retries). Local servers accept any key, so one is only required without a base URL."""
    openai = load_sdk()
    if azure:
        return openai.AzureOpenAI(
            api_key=os.environ.get("AZURE_OPENAI_API_KEY"),
            azure_endpoint=base_url or os.environ.get("AZURE_OPENAI_ENDPOINT"),
            api_version=os.environ.get("OPENAI_API_VERSION", "2024-10-21"),
            timeout=timeout,
            max_retries=0,
        )
    key = os.environ.get(api_key_env)
    if key is None and base_url is None:
        raise ProviderError(f"set {api_key_env} to use {model}", provider="openai")
    return openai.OpenAI(
        api_key=key or "not-needed", base_url=base_url, timeout=timeout, max_retries=0
    )


class OpenAICompatible:
    """``structured``: ``json_schema``, ``json_object``, ``json_object_schema`` (llama.cpp's
    server) or ``none``; a server that rejects a mode is retried with the next weaker one.
    ``logprobs``: ask for top log-probabilities so verdicts can be read as P(choice)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        structured: str = "json_schema",
        logprobs: bool = True,
        azure: bool = False,
        client: Any = None,
    ) -> None:
        self.model = model
        self.name = model
        self.structured = structured
        self.logprobs = logprobs
        self._openai = load_sdk()
        self._client = client or make_client(
            model, base_url=base_url, api_key_env=api_key_env, timeout=timeout, azure=azure
        )

    def _kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.schema is not None and self.structured == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(request.schema), "strict": False},
            }
        elif request.schema is not None and self.structured == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        elif request.schema is not None and self.structured == "json_object_schema":
            # llama.cpp's Python server: JSON mode constrained by the schema.
            kwargs["response_format"] = {"type": "json_object", "schema": dict(request.schema)}
        if request.choices and self.logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = 20
        return kwargs

    def _create(self, request: CompletionRequest) -> Any:
        sdk = self._openai
        while True:
            try:
                return self._client.chat.completions.create(**self._kwargs(request))
            except sdk.APIStatusError as exc:
                # Servers that reject a structured-output mode get the next weaker one, once
                # per mode; the choice sticks for later calls.
                weaker = _WEAKER.get(self.structured)
                said = f"{exc.message} {exc.body}"
                if request.schema is not None and weaker and "response_format" in said:
                    self.structured = weaker
                    continue
                raise from_status(
                    self.name, exc.status_code, exc.message, dict(exc.response.headers)
                ) from None
            except (sdk.APITimeoutError, sdk.APIConnectionError) as exc:
                raise transport_error(self.name, str(exc)) from None

    def complete(self, request: CompletionRequest) -> Completion:
        response = self._create(request)
        if not response.choices:
            raise ProviderError("response has no choices", provider=self.name)
        choice = response.choices[0]
        text = choice.message.content or ""
        usage = response.usage
        return Completion(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            choice_probs=self._choice_probs(request, text, choice),
            model=getattr(response, "model", None) or self.model,
        )

    @staticmethod
    def _choice_probs(
        request: CompletionRequest, text: str, choice: Any
    ) -> dict[str, float] | None:
        content = getattr(getattr(choice, "logprobs", None), "content", None)
        if not request.choices or not content:
            return None
        from memalign.judge_spec import Labels

        try:
            value, _ = parse_verdict(text, Labels(request.choices))
        except Exception:
            return None
        start = value_offset(text, str(value))
        if start is None:
            return None
        offsets: dict[int, int] = {}
        position: int = 0
        for index, token in enumerate(content):
            offsets[index] = position
            position += len(token.token)
        at = token_at(offsets, start)
        if at is None:
            return None
        alternatives = [(t.token, t.logprob) for t in (content[at].top_logprobs or [])]
        return choice_probs_from_top(alternatives, request.choices)
