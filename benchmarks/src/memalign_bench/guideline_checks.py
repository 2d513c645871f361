"""Each distilled guideline asked as its own yes/no question, as a decision signal.

A small judge reading several rules in one prompt barely follows them; asked one rule at a time
it answers better (measured in the benchmark issue: AUC 0.55-0.58 with the rules in the prompt,
0.62 one check per rule). The ``checks`` rule blends the judge's P(first label) with the mean
P(yes) over the active guidelines by the same logistic blend as the example vote, fitted on the
records seen, whose own checks are asked too. Unlike the other rules it costs model calls: one
short call per guideline per case, metered separately so the table can say what it costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from string import Template

from memalign.accounting import Meter
from memalign.judge import Judge
from memalign.judge_spec import Labels, Value
from memalign.judging.decision import Blend, first_label, fit_blend, normalise
from memalign.prompts.rendering import new_boundary, render_case
from memalign.providers import CompletionRequest, Message
from memalign.records import Case, Feedback, Guideline, Verdict

ANSWERS = ("yes", "no")


def _render(name: str, /, **values: str) -> str:
    """The harness's own prompt files, written like the product's (``string.Template``)."""
    text = resources.files("memalign_bench").joinpath(f"prompts/{name}.txt").read_text("utf-8")
    return Template(text).substitute(values).strip() + "\n"


def check_probs(
    judge: Judge, cases: Sequence[Case], guidelines: Sequence[Guideline], meter: Meter
) -> list[list[float]]:
    """P(yes) for every case (rows) and guideline (columns). The rule comes before the case in
    the prompt and the calls run rule by rule, so the calls for one rule share their prefix."""
    rows: list[list[float]] = [[] for _ in cases]
    for guideline in guidelines:
        for row, case in zip(rows, cases, strict=True):
            boundary = new_boundary(render_case(case, judge.spec), guideline.text)
            prompt = _render(
                "guideline_check",
                name=judge.spec.name,
                guideline=guideline.text,
                boundary=boundary,
                case=render_case(case, judge.spec, boundary=boundary),
            )
            request = CompletionRequest(
                messages=(Message(role="user", content=prompt),),
                choices=ANSWERS,
                rationale=False,
                max_tokens=8,
                purpose="judge",
            )
            completion = judge.llm.complete(request, meter)
            probs = completion.choice_probs or {}
            row.append(normalise(probs, ANSWERS)["yes"])
    return rows


def _signal(checks: Sequence[float]) -> float:
    """The checks as one vote in [-1, 1]: +1 when every rule is surely followed."""
    return 2 * sum(checks) / len(checks) - 1 if checks else 0.0


def fit_checks_blend(
    output: Labels, evidence: Sequence[tuple[dict[str, float], Sequence[float], Value]]
) -> Blend | None:
    """The blend fitted on (judge probabilities, check probabilities, expert label) triples."""
    first = first_label(output)
    points = [
        (normalise(probs, output.choices)[str(first)], _signal(checks), label == first)
        for probs, checks, label in evidence
    ]
    return fit_blend(points)


def checks_values(
    output: Labels, blend: Blend | None, verdicts: Sequence[Verdict],
    checks: Sequence[Sequence[float]],
) -> list[Value | None]:  # fmt: skip
    """The rule's value per verdict; the judge's own value where there is no fitted blend."""
    first = first_label(output)
    values: list[Value | None] = []
    for verdict, row in zip(verdicts, checks, strict=True):
        if blend is None or verdict.probabilities is None or not verdict.ok:
            values.append(verdict.value if verdict.ok else None)
            continue
        p_llm = normalise(verdict.probabilities, output.choices)[str(first)]
        p_first = blend.p_first(p_llm, _signal(row))
        values.append(output.labels[0] if p_first >= 0.5 else output.labels[1])
    return values


def score_checks(
    judge: Judge, seen: Sequence[Feedback], test: Sequence[Case], test_verdicts: Sequence[Verdict]
) -> tuple[list[Value | None], dict[str, object]]:
    """The ``checks`` rule's values on the test cases, and what the checks cost. The blend is
    fitted on the seen records' calibrated probabilities (each judged without its own example),
    not on verdicts that retrieved the record itself."""
    output = judge.spec.output
    assert isinstance(output, Labels) and first_label(output) is not None
    guidelines = judge.guidelines(include_retired=False)
    calibrated = {e.record_id: e.judge_probs for e in judge.examples() if e.judge_probs}
    fit_on = [r for r in seen if r.id in calibrated and r.label is not None]
    meter = Meter()
    blend = None
    test_checks: list[list[float]] = [[] for _ in test]
    with meter.timed():
        if guidelines:
            seen_checks = check_probs(judge, [r.case for r in fit_on], guidelines, meter)
            evidence = [
                (calibrated[r.id], checks, r.label)
                for r, checks in zip(fit_on, seen_checks, strict=True)
                if r.label is not None
            ]
            blend = fit_checks_blend(output, evidence)
        if blend is not None:  # nothing to decide with otherwise: spend no calls on the test
            test_checks = check_probs(judge, test, guidelines, meter)
    return checks_values(output, blend, test_verdicts, test_checks), {
        "guidelines": len(guidelines),
        "fitted_on": len(fit_on) if guidelines else 0,
        "blend": f"σ({blend.a:.2f}·logit P_llm + {blend.b:.2f}·checks + {blend.c:.2f})"
        if blend
        else None,
        "usage": meter.snapshot().model_dump(),
        "test_checks": test_checks,
    }
