"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from memalign.errors import DependencyError, ProviderError
from memalign.providers.http_status import from_status, transport_error


class OpenAIEmbedder:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        client: Any = None,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise DependencyError("openai", "pip install 'memalign[openai]'") from None
        self._openai = openai
        self.name = model
        self.model = model
        key = os.environ.get(api_key_env)
        if client is None and key is None and base_url is None:
            raise ProviderError(f"set {api_key_env} to use {model}", provider="openai")
        self._client = client or openai.OpenAI(
            api_key=key or "not-needed", base_url=base_url, timeout=timeout, max_retries=0
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        try:
            response = self._client.embeddings.create(model=self.model, input=list(texts))
        except self._openai.APIStatusError as exc:
            raise from_status(
                self.name, exc.status_code, exc.message, dict(exc.response.headers)
            ) from None
        except (self._openai.APITimeoutError, self._openai.APIConnectionError) as exc:
            raise transport_error(self.name, str(exc)) from None
        ordered = sorted(response.data, key=lambda item: item.index)
        return [list(item.embedding) for item in ordered]
