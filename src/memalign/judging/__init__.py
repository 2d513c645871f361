"""Judging: working memory → prompt → model → verdict, under one memory snapshot.

The :class:`JudgeEngine` is a judge bound to its store and models; the verdict ladder
(:mod:`~memalign.judging.verdict`), the decision rules fitted on memory
(:mod:`~memalign.judging.decision`), the choice among them under ``decision="auto"``
(:mod:`~memalign.judging.selection`) and the prompt layout
(:mod:`~memalign.judging.working_memory`) are its machinery."""

from memalign.judging.engine import JudgeEngine
from memalign.judging.fitting import FittedDecision, fit_decision
from memalign.judging.selection import DecisionChoice, choose_decision
from memalign.judging.working_memory import MemorySnapshot, WorkingMemory

__all__ = [
    "DecisionChoice",
    "FittedDecision",
    "JudgeEngine",
    "MemorySnapshot",
    "WorkingMemory",
    "choose_decision",
    "fit_decision",
]
