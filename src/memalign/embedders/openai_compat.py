"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memalign.providers.http_status import from_status, transport_error
from memalign.providers.openai_compat import load_sdk, make_client


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
        self._openai = load_sdk()
        self.name = model
        self.model = model
        self._client = client or make_client(
            model, base_url=base_url, api_key_env=api_key_env, timeout=timeout
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
