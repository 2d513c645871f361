"""MLflow is optional (the ``mlflow`` extra): check for it once, with an install hint."""

from __future__ import annotations

import importlib

from memalign.errors import DependencyError

HINT = "pip install 'memalign[mlflow]'"
# The release whose source this integration was written and tested against; newer 3.x releases
# keep the APIs it uses (AlignmentOptimizer, Judge, SerializedScorer, log_assessment).
TESTED_WITH = "3.17.2"


def require_mlflow() -> None:
    """Raise :class:`DependencyError` when MLflow (3.x, with its GenAI judges) is missing."""
    try:
        importlib.import_module("mlflow.genai.judges.base")
    except ImportError:
        raise DependencyError("mlflow", HINT) from None
