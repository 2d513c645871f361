"""The core around an embedder: batching, L2 normalisation, float32 vectors, metering."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memalign.accounting import Meter
from memalign.embedders.base import Embedder
from memalign.errors import ProviderError

Vectors = npt.NDArray[np.float32]


class EmbeddingClient:
    def __init__(self, embedder: Embedder, *, batch_size: int = 64) -> None:
        self.embedder = embedder
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return self.embedder.name

    def embed(self, texts: Sequence[str], meter: Meter | None = None) -> Vectors:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            raw = self.embedder.embed(batch)
            if len(raw) != len(batch):
                raise ProviderError(
                    f"embedder returned {len(raw)} vectors for {len(batch)} texts",
                    provider=self.embedder.name,
                )
            if meter is not None:
                meter.record_embedding(len(batch))
            parts.append(np.asarray(raw, dtype=np.float32))
        vectors = np.vstack(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        normalised: Vectors = (vectors / norms).astype(np.float32)
        return normalised
