"""Embedders: the ``Embedder`` plug point and ``EmbeddingClient``, which batches, normalises
and meters every embedding call once for all adapters."""

from memalign.embedders.base import Embedder
from memalign.embedders.client import EmbeddingClient

__all__ = ["Embedder", "EmbeddingClient"]
