"""Judging: working memory → prompt → model → verdict, under one memory snapshot.

The :class:`JudgeEngine` is a judge bound to its store and models; the verdict ladder
(:mod:`~memalign.judging.verdict`), the decision rules fitted on memory
(:mod:`~memalign.judging.decision`) and the prompt layout
(:mod:`~memalign.judging.working_memory`) are its machinery."""

from memalign.judging.engine import JudgeEngine
from memalign.judging.working_memory import MemorySnapshot, WorkingMemory

__all__ = ["JudgeEngine", "MemorySnapshot", "WorkingMemory"]
