"""Memory as the judge reads it: semantic (guidelines) and episodic (examples and their
vector index). Pure data structures; persistence is the stores' job."""

from memalign.memory.episodic import EpisodicIndex, ExampleSource
from memalign.memory.vector_index import Vector, VectorIndex

__all__ = ["EpisodicIndex", "ExampleSource", "Vector", "VectorIndex"]
