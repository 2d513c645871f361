"""What memory can decide without a model call, re-scored against the local 1.5B's stored verdicts
(issue 22). No judge call is made: the LLM's probabilities and the retrieved examples' vote come
from the learning-curve runs in docs/benchmarks/local-1.5b (seed 0, 50 feedback records, the
first 100 test records); this script adds checks mined from the experts' feedback and a linear
model over the MiniLM embeddings of the same 50 records, and reports each signal and simple
combinations on the same test records, familiar and novel phrasing apart.

    python benchmarks/scripts/memory_signals.py [--data ../shared/datasets] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memalign.checks import explain, mine_checks
from memalign.checks import pairwise as pairs
from memalign.evaluation.metrics import balanced_accuracy, ccc
from memalign.judge_spec import Pairwise
from memalign.judging.decision import checks_fired, decided_by_checks
from memalign.judging.embedding_model import fit_embedding_model
from memalign.models import get_embedder
from memalign.prompts.rendering import example_key
from memalign.records import Example, Feedback, Guideline
from memalign_bench.curves import shard_order
from memalign_bench.datasets import DATASETS
from memalign_bench.signals import check_vote, fit_logistic, fit_ridge, with_bias

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "docs" / "benchmarks" / "local-1.5b"
SUFFIX = "__local__signal-both__memory-both__example-chars-600.json"
TASKS = [
    "code_review_python",
    "marketing_email_compliance",
    "financebench",
    "travel_agent_reply",
    "pairwise_summary_preference",
]
L2S = (0.01, 0.1, 1.0)
BOUND = 0.75  # set by --check-bound


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _phrasing(data: Path, file: str) -> dict[str, str]:
    out = {}
    for line in (data / file).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["id"]] = (row.get("meta") or {}).get("phrasing", "n/a")
    return out


def _split_scores(
    metric: Callable[[list[Any], list[Any]], float | None],
    predicted: Sequence[Any],
    expected: Sequence[Any],
    phrasing: Sequence[str],
) -> str:
    cells = []
    for group in ("all", "familiar", "novel"):
        keep = [i for i, p in enumerate(phrasing) if group == "all" or p == group]
        pairs = [(predicted[i], expected[i]) for i in keep if predicted[i] is not None]
        if len(pairs) < 5:
            cells.append("–")
            continue
        value = metric([p for p, _ in pairs], [e for _, e in pairs])
        cells.append("–" if value is None else f"{value:.2f}")
    return " | ".join(cells)


def _best_l2(
    x: np.ndarray, y: np.ndarray, fit: Callable[[np.ndarray, np.ndarray, float], np.ndarray]
) -> float:
    """The L2 strength with the best leave-one-out squared error on the seen records."""
    best, best_err = L2S[0], math.inf
    for l2 in L2S:
        err = 0.0
        for i in range(len(y)):
            mask = np.arange(len(y)) != i
            w = fit(x[mask], y[mask], l2)
            err += (
                float((x[i] @ w - y[i]) ** 2)
                if fit is fit_ridge
                else float((1 / (1 + math.exp(-np.clip(x[i] @ w, -30, 30))) - y[i]) ** 2)
            )
        if err < best_err:
            best, best_err = l2, err
    return best


Embed = Callable[[list[str]], np.ndarray]


def _binary(
    name: str, seen: list[Feedback], test: list[Feedback], runs: dict[str, Any], embed: Embed,
    phrasing: list[str],
) -> list[str]:  # fmt: skip
    spec = DATASETS[name].spec
    labels = tuple(str(label) for label in spec.output.labels)  # type: ignore[attr-defined]
    first = labels[0]
    norm = {label.lower(): label for label in labels}
    y_seen = [norm[str(r.label).lower()] for r in seen]
    y_test = [norm[str(r.label).lower()] for r in test]
    verdicts = runs["steps"]["0:50"]["test_verdicts"]
    cut_text = runs["steps"]["0:50"].get("decision") or ""
    cut_match = re.search(r">= ([0-9.]+)", cut_text)
    cut = float(cut_match.group(1)) if cut_match else 0.5
    p_first = [
        {k.lower(): v for k, v in (v.get("p") or {}).items()}.get(first.lower()) for v in verdicts
    ]
    argmax = [None if p is None else (first if p >= 0.5 else labels[1]) for p in p_first]
    threshold = [None if p is None else (first if p >= cut else labels[1]) for p in p_first]
    vote = [
        None if v.get("vote") is None else (first if v["vote"] >= 0 else labels[1])
        for v in verdicts
    ]

    seen_keys = [example_key(r.case, spec) for r in seen]
    test_keys = [example_key(r.case, spec) for r in test]
    x_seen = with_bias(embed(seen_keys))
    x_test = with_bias(embed(test_keys))
    y = np.array([1.0 if label == first else 0.0 for label in y_seen])
    l2 = _best_l2(x_seen, y, fit_logistic)
    w = fit_logistic(x_seen, y, l2)
    lr_logit = [float(x @ w) for x in x_test]
    lr = [first if z >= 0 else labels[1] for z in lr_logit]
    # What the product fits (one linear solve): least squares on ±1, cut at 0.
    ridge_l2 = _best_l2(x_seen, 2 * y - 1, fit_ridge)
    rw = fit_ridge(x_seen, 2 * y - 1, ridge_l2)
    ridge = [first if float(x @ rw) >= 0 else labels[1] for x in x_test]

    labelled = [(r.case, label) for r, label in zip(seen, y_seen, strict=True)]
    checks = mine_checks([r.feedback for r in seen if r.feedback], labelled, BOUND)
    votes = [check_vote(checks, r.case, first) for r in test]
    # As the product decides: the label every validated check that fires agrees on.
    held = [Guideline(id=f"c{i}", text=explain(c), check=c) for i, c in enumerate(checks)]
    checks_only = [decided_by_checks(checks_fired(held, r.case)) for r in test]
    checks_then_lr = [c if c is not None else m for c, m in zip(checks_only, lr, strict=True)]
    checks_then_llm = [
        c if c is not None else m for c, m in zip(checks_only, threshold, strict=True)
    ]
    summed = []
    for p, z, v in zip(p_first, lr_logit, votes, strict=True):
        total = z + (0.0 if p is None else _logit(p) - _logit(cut))
        if v is not None:
            total += 4 * v  # a validated check outweighs the two soft signals
        summed.append(first if total >= 0 else labels[1])
    coverage = sum(c is not None for c in checks_only)
    rows = [
        ("LLM, argmax", argmax),
        (f"LLM, threshold (stored cut {cut:.3f})", threshold),
        ("retrieved examples' vote (k=5)", vote),
        (f"embedding logistic regression (L2 {l2})", lr),
        (f"embedding least squares on ±1 (L2 {ridge_l2})", ridge),
        (f"checks only ({len(checks)} kept; decide {coverage}/{len(test)})", checks_only),
        ("checks, else the LLM threshold (the product's default)", checks_then_llm),
        ("checks, else embedding LR", checks_then_lr),
        ("checks + embedding LR + LLM threshold (summed log-odds)", summed),
    ]
    out = [f"| {label} | {_split_scores(balanced_accuracy, pred, y_test, phrasing)} |"
           for label, pred in rows]  # fmt: skip
    shown = "; ".join(explain(c) for c in sorted(checks, key=lambda c: -c.fires)[:4])
    return [*out, f"| *top checks* | {shown or 'none (no feedback text)'} | | |"]


def _scale(
    name: str, seen: list[Feedback], test: list[Feedback], runs: dict[str, Any], embed: Embed,
    phrasing: list[str],
) -> list[str]:  # fmt: skip
    spec = DATASETS[name].spec
    verdicts = runs["steps"]["0:50"]["test_verdicts"]
    y_test = [float(str(r.label)) for r in test]
    expected = [
        None if not v.get("p") else sum(float(k) * p for k, p in v["p"].items()) for v in verdicts
    ]
    argmax = [None if v.get("value") is None else float(v["value"]) for v in verdicts]
    seen_keys = [example_key(r.case, spec) for r in seen]
    test_keys = [example_key(r.case, spec) for r in test]
    x_seen = with_bias(embed(seen_keys))
    x_test = with_bias(embed(test_keys))
    y = np.array([float(str(r.label)) for r in seen])
    l2 = _best_l2(x_seen, y, fit_ridge)
    w = fit_ridge(x_seen, y, l2)
    ridge = [float(np.clip(x @ w, 1, 5)) for x in x_test]
    both = [r if e is None else (r + e) / 2 for r, e in zip(ridge, expected, strict=True)]
    # The product's own decision="embedding": its fit (L2 by 5-fold CV), its rounded verdict.
    held = [
        Example(record_id=r.id, key_text=key, case_text="", label=r.label)
        for r, key in zip(seen, seen_keys, strict=True)
    ]
    fitted = fit_embedding_model(spec.output, held, x_seen[:, :-1].astype(np.float32))
    product = (
        [None] * len(test)
        if fitted is None
        else [
            float(fitted.predict(x[:-1].astype(np.float32), key))
            for x, key in zip(x_test, test_keys, strict=True)
        ]
    )
    rows = [
        ("LLM, argmax", argmax),
        ("LLM, expected score", expected),
        (f"embedding ridge regression (L2 {l2})", ridge),
        ("the product's decision=embedding (CV-chosen L2, rounded verdict)", product),
        ("mean of ridge and LLM expected score", both),
    ]
    return [f"| {label} | {_split_scores(ccc, pred, y_test, phrasing)} |" for label, pred in rows]


def _pairwise(
    name: str, seen: list[Feedback], test: list[Feedback], runs: dict[str, Any], embed: Embed,
    phrasing: list[str],
) -> list[str]:  # fmt: skip
    verdicts = runs["steps"]["0:50"]["test_verdicts"]
    y_test = [str(r.label).upper() for r in test]
    argmax = [None if v.get("value") is None else str(v["value"]).upper() for v in verdicts]

    def diff(records: list[Feedback]) -> np.ndarray:
        a = embed([str(r.outputs["A"]) for r in records])  # type: ignore[index]
        b = embed([str(r.outputs["B"]) for r in records])  # type: ignore[index]
        return a - b

    d_seen, d_test = diff(seen), diff(test)
    y = np.array([1.0 if str(r.label).upper() == "A" else 0.0 for r in seen])
    # Antisymmetric: swapping the candidates swaps the answer.
    x = np.vstack([d_seen, -d_seen])
    w = fit_logistic(x, np.concatenate([y, 1 - y]), 0.1)
    lr = ["A" if float(d @ w) >= 0 else "B" for d in d_test]

    # The product's own path: each candidate of each record labelled wins or loses, checks
    # mined from the feedback (terms, and figures not copied from the source), the pair
    # decided when the checks set one candidate above the other.
    labelled = [
        one for r in seen for one in pairs.labelled_candidates(r.case, str(r.label).upper())
    ]
    checks = mine_checks([r.feedback for r in seen if r.feedback], labelled, BOUND)
    held = [Guideline(id=f"c{i}", text=explain(c), check=c) for i, c in enumerate(checks)]
    picked: list[str | None] = [
        decided_by_checks(checks_fired(held, r.case, Pairwise()), Pairwise()) for r in test
    ]
    then_lr = [c if c is not None else m for c, m in zip(picked, lr, strict=True)]
    then_llm = [c if c is not None else m for c, m in zip(picked, argmax, strict=True)]
    coverage = sum(p is not None for p in picked)
    rows = [
        ("LLM, argmax", argmax),
        ("embedding logistic regression on A−B", lr),
        (f"checks only ({len(checks)} kept; decide {coverage}/{len(test)})", picked),
        ("checks, else the LLM (the product's default)", then_llm),
        ("checks, else embedding LR", then_lr),
    ]
    return [f"| {label} | {_split_scores(balanced_accuracy, pred, y_test, phrasing)} |"
            for label, pred in rows]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--check-bound", type=float, default=0.75, help="Wilson lower bound a check must reach"
    )
    args = parser.parse_args()
    global BOUND
    BOUND = args.check_bound
    embedder = get_embedder("local")

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(embedder.embed(texts), dtype=np.float64)

    lines = [
        "Signal | unseen, all | familiar | novel",
        "",
    ]
    for name in TASKS:
        dataset = DATASETS[name]
        train, test = dataset.load(args.data)
        test = test[:100]
        seen = shard_order(train, 0, [10, 50])[:50]
        runs = json.loads((RUNS / f"{name}{SUFFIX}").read_text())
        by_id = _phrasing(args.data, dataset.file)
        phrasing = [by_id.get(r.id, "n/a") for r in test]
        kind = type(dataset.spec.output).__name__
        scorer = {"Labels": _binary, "Scale": _scale, "Pairwise": _pairwise}[kind]
        metric = "CCC" if kind == "Scale" else "balanced accuracy"
        lines += [
            f"### {name} ({metric}; 50 feedback records, {len(test)} unseen: "
            f"{phrasing.count('familiar')} familiar, {phrasing.count('novel')} novel)",
            "",
            "| signal | all | familiar | novel |",
            "|---|---|---|---|",
            *scorer(name, seen, test, runs, embed, phrasing),
            "",
        ]
        print("\n".join(lines[-(len(lines)) :]) if False else f"done {name}", flush=True)
    text = "\n".join(lines[2:])
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
