from __future__ import annotations

import json
import re
from collections.abc import Callable

from memalign import Feedback, Judge, JudgeSpec, Labels
from memalign.providers import Completion, CompletionRequest
from memalign.testing import ScriptedLLM
from memalign_bench.guideline_checks import score_checks

RULE = "Replies must never mention bananas."


def _model(request: CompletionRequest) -> Completion:
    # The judge's own read-out is uninformative; asked about the rule alone, it answers well.
    prompt = "\n".join(m.content for m in request.messages)
    if request.purpose == "distill":
        sources = re.findall(r'<item id="([^"]+)">', prompt)[:1]
        return Completion(text=json.dumps({"guidelines": [{"text": RULE, "sources": sources}]}))
    if request.purpose != "judge" or not request.choices:
        return Completion(text='{"decisions": []}')
    if request.choices == ("yes", "no"):
        case = prompt.split("Case to check.", 1)[1]
        yes = 0.2 if "banana" in case else 0.8
        return Completion(text="", choice_probs={"yes": yes, "no": 1 - yes})
    return Completion(text="", choice_probs={"pass": 0.6, "fail": 0.4})


def _record(i: int) -> Feedback:
    bad = i % 2 == 0
    return Feedback(
        id=f"r{i}",
        inputs=f"question {i}",
        outputs=f"reply {i}" + (" with a banana" if bad else ""),
        label="fail" if bad else "pass",
        feedback="Never mention bananas." if bad else None,
    )


def test_checks_decide_where_the_read_out_cannot(make_judge: Callable[..., Judge]) -> None:
    llm = ScriptedLLM(_model)
    spec = JudgeSpec(
        name="reply", instructions="Is the reply fine?", output=Labels(("pass", "fail"))
    )
    judge = make_judge(spec, llm=llm)
    seen = [_record(i) for i in range(10)]
    judge.align(seen)
    assert [g.text for g in judge.guidelines(include_retired=False)] == [RULE]
    test = [_record(100 + i) for i in range(6)]
    verdicts = judge.judge_many([r.case for r in test], rationale=False)
    calls = llm.calls

    values, info = score_checks(judge, seen, [r.case for r in test], verdicts)

    assert [v.value for v in verdicts] != [r.label for r in test]  # the read-out alone fails
    assert values == [r.label for r in test]
    assert info["fitted_on"] == 10 and info["blend"] is not None
    assert llm.calls - calls == 1 * (10 + 6)  # one call per guideline per case
    assert info["usage"]["llm_calls"] == 16  # type: ignore[index]


def test_without_guidelines_checks_cost_nothing(make_judge: Callable[..., Judge]) -> None:
    llm = ScriptedLLM(_model)
    spec = JudgeSpec(
        name="reply", instructions="Is the reply fine?", output=Labels(("pass", "fail"))
    )
    judge = make_judge(spec, llm=llm)
    test = [_record(100 + i) for i in range(4)]
    verdicts = judge.judge_many([r.case for r in test], rationale=False)
    calls = llm.calls
    values, info = score_checks(judge, [], [r.case for r in test], verdicts)
    assert llm.calls == calls and info["blend"] is None
    assert values == [v.value for v in verdicts]
