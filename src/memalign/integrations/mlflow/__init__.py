"""memalign inside MLflow (the ``mlflow`` extra; written against MLflow 3.17.2).

- :class:`MemalignOptimizer`: ``judge.align(traces, optimizer=MemalignOptimizer(store=…,
  model=…))`` aligns an MLflow judge on the experts' HUMAN assessments with memalign.
- :class:`MemalignJudge`: what that returns; a judge (and ``mlflow.genai.evaluate`` scorer) that
  scores with memalign's memory and names the guidelines and examples it used; ``unalign``
  forgets with memalign's cascade; ``register()``, then ``get_scorer`` and
  :meth:`MemalignJudge.from_scorer`, reload it in another process.
- :func:`import_experiment` / :func:`log_run_verdicts`: what ``memalign mlflow import`` and
  ``memalign run --to-mlflow`` do.

See design/mlflow.md for the mapping and how it differs from MLflow's own MemAlignOptimizer.
"""

from memalign.integrations.mlflow._deps import require_mlflow

require_mlflow()

from memalign.integrations.mlflow.binding import Binding  # noqa: E402
from memalign.integrations.mlflow.importer import (  # noqa: E402
    ImportReport,
    experiment_id,
    import_experiment,
    log_run_verdicts,
    use_tracking_uri,
)
from memalign.integrations.mlflow.optimizer import MemalignOptimizer  # noqa: E402
from memalign.integrations.mlflow.scorer import MemalignJudge  # noqa: E402
from memalign.integrations.mlflow.traces import records_from_trace  # noqa: E402
from memalign.integrations.mlflow.values import ValueMap, value_map  # noqa: E402

__all__ = [
    "Binding",
    "ImportReport",
    "MemalignJudge",
    "MemalignOptimizer",
    "ValueMap",
    "experiment_id",
    "import_experiment",
    "log_run_verdicts",
    "records_from_trace",
    "require_mlflow",
    "use_tracking_uri",
    "value_map",
]
