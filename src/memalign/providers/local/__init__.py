"""The offline default: llama.cpp in-process, the local GGUF models assembled from their PyPI
chunks, and the checks that the installed llama.cpp build can run them on this CPU.

Nothing here imports ``llama_cpp`` until a model is loaded."""

from memalign.providers.local.llamacpp import LlamaCppProvider
from memalign.providers.local.models import LOCAL_MODELS, LocalModel, ensure_model

__all__ = ["LOCAL_MODELS", "LlamaCppProvider", "LocalModel", "ensure_model"]
