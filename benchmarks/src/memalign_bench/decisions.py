"""Decision rules compared on the same verdicts, at no extra model calls.

Every verdict keeps the model's label probabilities and the vote of the examples it retrieved,
so one pass of judge calls scores several ways of turning memory into a decision: the pure
in-context read-out (argmax), the threshold fitted on the feedback, the retrieved examples'
vote alone (memory as a nearest-neighbour classifier), and the fitted blend of the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from memalign.judge import Judge
from memalign.judge_spec import FloatScore, Labels, OutputType, Pairwise, Scale, Value
from memalign.judging.decision import (
    EVIDENCE_WINDOW,
    Blend,
    Threshold,
    first_label,
    fit_rules,
    normalise,
    value_from_probs,
)
from memalign.records import Verdict
from memalign_bench.offset_rule import offset_rule
from memalign_bench.scale_rules import scale_rules

RULES = {
    "argmax": "the model's most probable label, or its probability-weighted mean score rounded "
    "(pure in-context memory)",
    "threshold": "P(first label) against a cut fitted on the feedback seen (memalign's default "
    "for two labels)",
    "calibrated": "the model's mean score mapped linearly onto the mean and spread of the expert "
    "scores seen, the map that maximises CCC on them (scales)",
    "offsets": "the most probable choice after per-choice offsets on the log-probabilities, "
    "fitted on the feedback seen to maximise accuracy (pairwise and many-label judges)",
    "vote": "the similarity-weighted label vote, or mean score, of the k retrieved examples "
    "(argmax on a tie or without examples)",
    "checks": "logistic blend of the model's P(first label) and the mean P(yes) of each guideline "
    "asked as its own yes/no check, fitted on the records seen (costs one call per guideline per "
    "case; `--checks`)",
    "blend": "the model's P(first label) or mean score blended with the example vote: logistic "
    "for two labels, least squares then calibrated for scales; fitted on the feedback seen",
}

Rule = Callable[[Verdict], Value | None]


def _argmax(output: OutputType) -> Rule:
    def rule(verdict: Verdict) -> Value | None:
        if verdict.probabilities is None or isinstance(output, FloatScore):
            return verdict.value
        return value_from_probs(output, verdict.probabilities)

    return rule


def _threshold(output: OutputType, threshold: Threshold | None) -> Rule:
    argmax = _argmax(output)

    def rule(verdict: Verdict) -> Value | None:
        if threshold is None or verdict.probabilities is None:
            return argmax(verdict)
        return value_from_probs(output, verdict.probabilities, threshold)

    return rule


def _vote(output: Labels) -> Rule:
    fallback = _argmax(output)

    def rule(verdict: Verdict) -> Value | None:
        if verdict.vote is None or verdict.vote == 0:
            return fallback(verdict)
        return output.labels[0] if verdict.vote > 0 else output.labels[1]

    return rule


def _blend(output: Labels, blend: Blend | None, fallback: Rule) -> Rule:
    def rule(verdict: Verdict) -> Value | None:
        if blend is None or verdict.probabilities is None:
            return fallback(verdict)
        p_llm = normalise(verdict.probabilities, output.choices)[output.labels[0]]
        p_first = blend.p_first(p_llm, verdict.vote or 0.0)
        return output.labels[0] if p_first >= 0.5 else output.labels[1]

    return rule


def rules_for(judge: Judge) -> dict[str, Rule]:
    """The rules that apply to this judge's output under its current memory: argmax for every
    output; threshold, vote and blend for binary labels; calibrated, vote and blend for scales;
    offsets for pairwise and many-label judges; each fitted on the stored feedback."""
    output = judge.spec.output
    rules = {"argmax": _argmax(output)}
    if isinstance(output, Scale):
        return rules | scale_rules(judge, output, rules["argmax"])
    if isinstance(output, Pairwise) or (isinstance(output, Labels) and len(output.labels) > 2):
        return rules | {"offsets": offset_rule(judge, output, rules["argmax"])}
    if first_label(output) is None:
        return rules
    assert isinstance(output, Labels)
    snapshot = judge.snapshot()
    fitted = fit_rules(
        output,
        *judge.store.recent_examples(judge.judge_id, EVIDENCE_WINDOW),
        judge.spec.memory.k,
        blend=snapshot.blend is None,
    )
    threshold = snapshot.threshold or fitted[0]
    blend = snapshot.blend or fitted[1]
    rules["threshold"] = _threshold(output, threshold)
    rules["vote"] = _vote(output)
    rules["blend"] = _blend(output, blend, rules["threshold"])
    return rules


def values_by_rule(
    rules: dict[str, Rule], verdicts: Sequence[Verdict]
) -> dict[str, list[Value | None]]:
    return {name: [rule(v) if v.ok else None for v in verdicts] for name, rule in rules.items()}
