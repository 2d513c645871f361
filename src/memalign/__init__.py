"""memalign: align LLM judges to domain experts through memory.

Semantic memory holds guidelines distilled from expert feedback; episodic memory holds the
concrete examples. A judge reads both (guidelines + the k most similar examples) before it
decides, and learns from each new batch of feedback without re-optimising anything.
"""

from memalign.embedders import Embedder
from memalign.errors import (
    DependencyError,
    InputError,
    LabelError,
    MemalignError,
    ModelAssetError,
    NotFoundError,
    ParseError,
    ProviderError,
    RecordConflictError,
    SpecError,
    StoreError,
)
from memalign.io.transfer import export_judge, import_judge
from memalign.judge import Judge
from memalign.judge_spec import FloatScore, JudgeSpec, Labels, MemoryConfig, Pairwise, Scale
from memalign.models import Models, build_models
from memalign.providers import Completion, CompletionRequest, LLMProvider, Message
from memalign.records import (
    AlignmentReport,
    Case,
    Check,
    CheckHit,
    Clause,
    Example,
    Feedback,
    ForgetReport,
    Guideline,
    Predicate,
    Usage,
    Verdict,
)
from memalign.stores import MemoryStore, open_store

__version__ = "0.1.0"

__all__ = [
    "AlignmentReport",
    "Case",
    "Check",
    "CheckHit",
    "Clause",
    "Completion",
    "CompletionRequest",
    "DependencyError",
    "Embedder",
    "Example",
    "Feedback",
    "FloatScore",
    "ForgetReport",
    "Guideline",
    "InputError",
    "Judge",
    "JudgeSpec",
    "LLMProvider",
    "LabelError",
    "Labels",
    "MemalignError",
    "MemoryConfig",
    "MemoryStore",
    "Message",
    "ModelAssetError",
    "Models",
    "NotFoundError",
    "Pairwise",
    "ParseError",
    "Predicate",
    "ProviderError",
    "RecordConflictError",
    "Scale",
    "SpecError",
    "StoreError",
    "Usage",
    "Verdict",
    "__version__",
    "build_models",
    "export_judge",
    "import_judge",
    "open_store",
]
