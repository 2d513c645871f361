"""Changing memory: align on a batch of feedback (distil guidelines, consolidate them, keep the
examples), forget records with everything derived from them, and hand-edit guidelines.

Every operation takes the bound :class:`memalign.judging.JudgeEngine` and commits one new
memory version; model and embedding calls happen before the store transaction opens."""

from memalign.alignment import curate
from memalign.alignment.align import OnExisting, OnInvalid, align
from memalign.alignment.forget import forget

__all__ = ["OnExisting", "OnInvalid", "align", "curate", "forget"]
