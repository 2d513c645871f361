from __future__ import annotations

import numpy as np
import pytest

from memalign import ProviderError
from memalign.embedders.client import EmbeddingClient
from memalign.embedders.openai_compat import OpenAIEmbedder

from ..scripted_http import Reply, ScriptedServer


def _embeddings(vectors: list[list[float]]) -> dict[str, object]:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return {
        "object": "list",
        "model": "e",
        "data": list(reversed(data)),
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }


def test_vectors_come_back_in_input_order_and_normalised(server: ScriptedServer) -> None:
    server.script(Reply(200, _embeddings([[3.0, 4.0], [0.0, 2.0]])))
    client = EmbeddingClient(OpenAIEmbedder("e", base_url=server.url + "/v1"))
    vectors = client.embed(["first", "second"])
    assert np.allclose(vectors, [[0.6, 0.8], [0.0, 1.0]])
    assert server.requests[0]["path"] == "/v1/embeddings"
    assert server.requests[0]["body"]["input"] == ["first", "second"]


def test_embedding_errors_map_to_provider_errors(server: ScriptedServer) -> None:
    server.script(Reply(503, {"error": {"message": "down"}}))
    with pytest.raises(ProviderError) as info:
        OpenAIEmbedder("e", base_url=server.url + "/v1").embed(["x"])
    assert info.value.status == 503 and info.value.retryable
