"""Agreement between a judge and its experts: the metrics (accuracy, Cohen's κ, balanced
accuracy, CCC, AUC), the report that picks the right ones for each output type, and what a
batch of verdicts cost (the share the validated checks decided with no model call)."""

from memalign.evaluation.agreement import agreement_report
from memalign.evaluation.verdicts import usage_line, verdict_usage

__all__ = ["agreement_report", "usage_line", "verdict_usage"]
