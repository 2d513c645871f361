"""Agreement reports: the right metrics for each output type, errors counted, never dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memalign.evaluation import metrics
from memalign.judge_spec import FloatScore, OutputType, Pairwise, Scale, Value


def agreement_report(
    output: OutputType, labels: Sequence[Value | None], predictions: Sequence[Value | None]
) -> dict[str, Any]:
    """``n`` counts every labelled record; ``errors`` those without a verdict, which score as
    wrong in accuracy (an error is never a default label) and are left out of κ / CCC."""
    pairs = [(p, t) for p, t in zip(predictions, labels, strict=True) if t is not None]
    scored = [(p, t) for p, t in pairs if p is not None]
    report: dict[str, Any] = {"n": len(pairs), "errors": len(pairs) - len(scored)}
    if not scored:
        return report
    got = [p for p, _ in scored]
    want = [t for _, t in scored]
    report["accuracy"] = sum(p == t for p, t in scored) / len(pairs)
    if isinstance(output, Scale | FloatScore):
        report["ccc"] = metrics.ccc([float(x) for x in got], [float(x) for x in want])
        if isinstance(output, FloatScore):
            report.pop("accuracy")
    if not isinstance(output, Scale | FloatScore):
        # A judge that gives one label scores its share in accuracy on skewed data; balanced
        # accuracy (errors wrong, as in accuracy) puts it at 1 / number of labels.
        report["balanced_accuracy"] = metrics.balanced_accuracy(
            [p for p, _ in pairs], [t for _, t in pairs]
        )
    if not isinstance(output, FloatScore):
        report["kappa"] = metrics.cohen_kappa(got, want)
        classes = (
            list(output.choices)
            if not isinstance(output, Scale)
            else [int(c) for c in output.choices]
        )
        report["confusion"] = {
            "classes": classes,
            "matrix": metrics.confusion_matrix(got, want, classes),
        }
    if isinstance(output, Pairwise):
        report["pairwise_accuracy"] = metrics.pairwise_accuracy(
            [str(x) for x in got], [str(x) for x in want], ties="strict"
        )
        report["pairwise_accuracy_ties_half"] = metrics.pairwise_accuracy(
            [str(x) for x in got], [str(x) for x in want], ties="half"
        )
    return report
