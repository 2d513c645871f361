"""Agreement between a judge and its experts: the metrics (accuracy, Cohen's κ, balanced
accuracy, CCC, AUC) and the report that picks the right ones for each output type."""

from memalign.evaluation.agreement import agreement_report

__all__ = ["agreement_report"]
