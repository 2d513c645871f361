"""Why the aligned demo judge misses on the local 1.5B (issue 22): each memory mechanism probed
on the demo's 20 feedback records and 40 test cases (SYNTHETIC, shipped with memalign).

1. the aligned judge (default decision): does P(Pass) rank passing replies above failing ones?
   With each check the aligned memory holds (mined, or proposed by reflection with a
   guideline) and what it does on the test cases;
2. rule questions: each house rule asked on its own, next to the case (one Yes/No call per
   rule and case; the rules are worded by us from the generator, an upper bound on what
   reflection could write);
3. checks mined from the experts' words at several validation bounds;
4. the linear model over the stored embeddings.

    python benchmarks/scripts/demo_probes.py \
      --out docs/benchmarks/local-1.5b/memory-acts/demo_probes.json

About 8 minutes on a 2-core CPU (the model is local; nothing else should share the CPU).
"""

from __future__ import annotations

import argparse
import json
import string
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from memalign.accounting import Meter
from memalign.checks import explain, mine_checks
from memalign.checks.matching import match
from memalign.demo import SPEC, feedback_records, load_items, test_cases
from memalign.evaluation.metrics import auc, balanced_accuracy
from memalign.judge import Judge
from memalign.judge_spec import Labels
from memalign.judging.embedding_model import fit_embedding_model
from memalign.judging.verdict import ask_verdict
from memalign.models import build_models, get_embedder
from memalign.prompts.rendering import example_key
from memalign.providers.base import Message
from memalign.records import Case, Example
from memalign.stores import open_store

RULES = {
    "apology": "Every reply must start by apologising.",
    "ticket": "Always quote the customer's ticket number.",
    "no_dates": "Never give a specific calendar date; use a relative time frame.",
    "competitor": "Never name a competitor.",
}
RULE_SYSTEM = (
    "You check one house rule of a customer-support team against an agent's reply.\n"
    "Rule: $rule\nAnswer with one JSON object and nothing else:\n"
    '{"value": <"Yes" | "No">}  (Yes: the reply follows the rule; No: it breaks it)'
)


def aligned_judge(models: Any, labels: list[str], cases: list[Case]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        judge = Judge.create(open_store(Path(tmp) / "store.db"), SPEC, **models.as_kwargs())
        report = judge.align(feedback_records())
        verdicts = judge.judge_many(cases)
        checks = []
        for guideline in judge.guidelines():
            if guideline.check is None:
                continue
            fired = [y for y, c in zip(labels, cases, strict=True) if match(guideline.check, c)[0]]
            checks.append(
                {
                    "guideline": guideline.text,
                    "origin": guideline.origin,
                    "check": explain(guideline.check),
                    "test": f"{fired.count(guideline.check.label)}/{len(fired)}",
                }
            )
    p_pass = [(v.probabilities or {}).get("Pass", 0.5) for v in verdicts]
    values = [str(v.value) for v in verdicts]
    argmax = ["Pass" if p >= 0.5 else "Fail" for p in p_pass]
    return {
        "guidelines": [g.text for g in report.new_guidelines],
        "checks": checks,
        "auc_p_pass": round(auc(p_pass, [y == "Pass" for y in labels]), 3),
        "balanced_accuracy": balanced_accuracy(values, labels),
        "argmax_balanced_accuracy": balanced_accuracy(argmax, labels),
        "answered_fail": values.count("Fail"),
        "decision": next((v.decision for v in verdicts if v.decision), None),
    }


def rule_questions(models: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    output = Labels(("Yes", "No"))
    p_yes: dict[str, list[float]] = {rule: [] for rule in RULES}
    for item in items:
        case = (
            f"Customer ticket: {item['inputs']['ticket']}\n"
            f"Customer message: {item['inputs']['customer_message']}\n"
            f"Agent's reply:\n{item['outputs']}\n\nDoes the reply follow the rule?"
        )
        for rule, text in RULES.items():
            system = string.Template(RULE_SYSTEM).substitute(rule=text)
            messages = (Message("system", system), Message("user", case))
            _, _, probs = ask_verdict(models.llm, output, messages, Meter(), rationale=False)
            p_yes[rule].append((probs or {}).get("Yes", 0.5))
    result: dict[str, Any] = {"calls": len(items) * len(RULES)}
    for rule, scores in p_yes.items():
        # Passing replies against the replies that break this rule.
        kept = [(s, i["label"] == "Pass") for s, i in zip(scores, items, strict=True)
                if i["label"] == "Pass" or i["broken_rule"] == rule]  # fmt: skip
        result[f"auc_{rule}"] = round(auc([s for s, _ in kept], [y for _, y in kept]), 3)
    product = [float(np.prod([p_yes[r][i] for r in RULES])) for i in range(len(items))]
    result["auc_all_rules"] = round(auc(product, [i["label"] == "Pass" for i in items]), 3)
    return result


def mined(labels: list[str], cases: list[Case]) -> dict[str, Any]:
    records = feedback_records()
    labelled = [(r.case, str(r.label)) for r in records]
    result = {}
    for bound in (0.75, 0.5):
        checks = mine_checks([r.feedback or "" for r in records], labelled, bound)
        rows = []
        for check in checks:
            fired = [y for y, case in zip(labels, cases, strict=True) if match(check, case)[0]]
            rows.append(
                f"{'has' if check.present else 'lacks'} {check.term!r} in {check.field}/"
                f"{check.part} -> {check.label}: train {check.hits}/{check.fires}, "
                f"test {fired.count(check.label)}/{len(fired)}"
            )
        result[str(bound)] = rows
    return result


def embedding(labels: list[str], cases: list[Case]) -> float:
    embedder = get_embedder("local")
    records = feedback_records()
    keys = [example_key(r.case, SPEC) for r in records]
    texts = [example_key(c, SPEC) for c in cases]
    train = np.asarray(embedder.embed(keys), np.float32)
    test = np.asarray(embedder.embed(texts), np.float32)
    examples = [
        Example(record_id=r.id, key_text=key, case_text="", label=r.label)
        for r, key in zip(records, keys, strict=True)
    ]
    model = fit_embedding_model(SPEC.output, examples, train)
    if model is None:
        return float("nan")
    predicted = [str(model.predict(v, text)) for v, text in zip(test, texts, strict=True)]
    return balanced_accuracy(predicted, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    models = build_models(args.model, timeout=900)
    _, cases, labels = test_cases()
    items = [i for i in load_items() if i["split"] == "test"]
    started = time.perf_counter()
    result: dict[str, Any] = {
        "data": "SYNTHETIC demo task shipped with memalign: 20 feedback records, 40 test cases",
        "model": args.model,
        "aligned_judge": aligned_judge(models, labels, cases),
        "rule_questions": rule_questions(models, items),
        "mined_checks": mined(labels, cases),
        "embedding_model_balanced_accuracy": embedding(labels, cases),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
