"""memalign: align LLM judges to domain experts through memory.

Semantic memory holds guidelines distilled from expert feedback; episodic memory holds the
concrete examples. A judge reads both (guidelines + the k most similar examples) before it
decides, and learns from each new batch of feedback without re-optimising anything.
"""

from memalign.errors import (
    InputError,
    LabelError,
    MemalignError,
    NotFoundError,
    ParseError,
    ProviderError,
    SpecError,
    StoreError,
)
from memalign.judge import Judge
from memalign.judge_spec import FloatScore, JudgeSpec, Labels, MemoryConfig, Pairwise, Scale
from memalign.records import (
    AlignmentReport,
    Case,
    Example,
    Feedback,
    ForgetReport,
    Guideline,
    Usage,
    Verdict,
)
from memalign.stores import MemoryStore, open_store
from memalign.transfer import import_judge

__version__ = "0.1.0"

__all__ = [
    "AlignmentReport",
    "Case",
    "Example",
    "Feedback",
    "FloatScore",
    "ForgetReport",
    "Guideline",
    "InputError",
    "Judge",
    "JudgeSpec",
    "LabelError",
    "Labels",
    "MemalignError",
    "MemoryConfig",
    "MemoryStore",
    "NotFoundError",
    "Pairwise",
    "ParseError",
    "ProviderError",
    "Scale",
    "SpecError",
    "StoreError",
    "Usage",
    "Verdict",
    "__version__",
    "import_judge",
    "open_store",
]
