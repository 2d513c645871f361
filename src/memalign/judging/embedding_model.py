"""A linear model over the stored examples, fitted at no model cost: the labelled examples already
in episodic memory predict a new case's label (or score) from its embedding and, where that
measures better, the words it holds (memalign.judging.words).

Measured on stored local-1.5B verdicts (docs/benchmarks/memory-signals): on policy_dev it beat
the model's own fitted threshold (code review 0.74 against 0.62 balanced accuracy; the travel
scale CCC 0.54 against 0.16), and summed with the model's centred log-odds it gave the best
binary results (FinanceBench 0.66 against 0.64). Under the default ``decision="auto"`` it
decides where cross-validation on memory says it beats the model (memalign.judging.selection);
``"embedding"`` or ``"combined"`` pin it.

Labels: one-vs-rest L2 logistic regression (Newton steps); scales: ridge regression. The
features (the embedding alone, or with the word features) and the L2 strength are chosen
together by 5-fold cross-validation on the measure the rule is judged by: balanced accuracy (log
loss breaking ties) for labels, the concordance of the rounded scores for a scale. The models'
own losses preferred the strongest L2, a timid model whose decisions collapse to one label or
the middle score (design/decision.md). At most ``EVIDENCE_WINDOW`` newest examples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memalign.judge_spec import Labels, OutputType, Scale, Value
from memalign.judging.decision import Threshold, normalise
from memalign.judging.words import word_features
from memalign.records import Example

Array = npt.NDArray[np.float64]
MIN_EXAMPLES = 20
L2S = (0.01, 0.1, 1.0)
FOLDS = 5
# The features and L2 are chosen on at most this many of the newest examples, then the model is
# fitted on all of them: choosing on 2,000 took 25 s per memory version with the word features
# on offer, against 1.2 s without (benchmarks/scripts/memory_model_cost.py).
CHOICE_WINDOW = 200


@dataclass(frozen=True)
class EmbeddingModel:
    output: OutputType
    classes: tuple[str, ...]  # one weight column per class; () for a scale
    weights: Array
    examples: int
    words: bool = False  # whether the features include the case's words, not its embedding only

    def logits(self, vector: npt.NDArray[np.float32], text: str) -> Array:
        """``vector``: the case's embedding; ``text``: the text it embeds (its example key)."""
        x = design(vector[None, :], [text], self.words)[0]
        return np.atleast_1d(x @ self.weights)

    def predict(self, vector: npt.NDArray[np.float32], text: str) -> Value:
        z = self.logits(vector, text)
        if isinstance(self.output, Scale):
            return round(float(np.clip(z[0], self.output.low, self.output.high)))
        assert isinstance(self.output, Labels)
        if len(self.classes) == 1:  # two labels: one column for the first
            return self.output.labels[0] if z[0] >= 0 else self.output.labels[1]
        return self.classes[int(np.argmax(z))]

    def first_logit(self, vector: npt.NDArray[np.float32], text: str) -> float:
        """Two labels: the log-odds of the first."""
        return float(self.logits(vector, text)[0])

    def describe(self) -> str:
        kind = "ridge" if isinstance(self.output, Scale) else "logistic"
        over = "embedding and words" if self.words else "embedding"
        return f"{kind} model over the {over} fitted on {self.examples} examples"


def design(matrix: npt.NDArray[np.float32], texts: Sequence[str], words: bool) -> Array:
    """The model's inputs, one row per case: the embedding, the word features when ``words``,
    and a constant."""
    parts = [np.asarray(matrix, dtype=np.float64)]
    if words:
        parts.append(word_features(texts))
    return np.hstack([*parts, np.ones((len(texts), 1))])


def fit_embedding_model(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    words: Sequence[bool] = (False, True),
) -> EmbeddingModel | None:
    """``words``: the feature sets on offer (without the word features, with them), the first
    winning ties. ``examples`` arrive oldest first, as memory gives them."""
    rows = [i for i, e in enumerate(examples) if e.label is not None]
    if len(rows) < MIN_EXAMPLES:
        return None
    texts = [examples[i].key_text for i in rows]
    designs = [design(matrix[rows], texts, w) for w in words]
    labels = [examples[i].label for i in rows]
    if isinstance(output, Scale):
        y = np.array([float(str(v)) for v in labels])
        index, l2 = _choose(_newest(designs), y[-CHOICE_WINDOW:], fit_ridge, _discordance(output))
        return EmbeddingModel(output, (), fit_ridge(designs[index], y, l2), len(rows), words[index])
    if not isinstance(output, Labels):
        return None
    spelled = {label.lower(): label for label in output.labels}
    names = [spelled.get(str(v).lower(), str(v)) for v in labels]
    classes = output.labels[:1] if len(output.labels) == 2 else output.labels
    ys = [np.array([1.0 if n == cls else 0.0 for n in names]) for cls in classes]
    if any(y.min() == y.max() for y in ys):
        return None  # one class only: nothing to separate
    # One feature set for every column, chosen with the first column's L2: the columns share
    # their inputs; each of the others chooses its own L2.
    index, l2 = _choose(_newest(designs), ys[0][-CHOICE_WINDOW:], fit_logistic, _misclassified)
    x = designs[index]
    l2s = [l2]
    for y in ys[1:]:
        l2s.append(_choose(_newest([x]), y[-CHOICE_WINDOW:], fit_logistic, _misclassified)[1])
    columns = [fit_logistic(x, y, strength) for y, strength in zip(ys, l2s, strict=True)]
    weights = np.stack(columns, axis=1)
    return EmbeddingModel(output, tuple(classes), weights, len(rows), words[index])


def _newest(designs: Sequence[Array]) -> list[Array]:
    return [x[-CHOICE_WINDOW:] for x in designs]


def _in_span(fit: Callable[[Array, Array, float], Array]) -> Callable[[Array, Array, float], Array]:
    """``fit`` (an L2-penalised linear model whose last column of ``x`` is an unpenalised
    constant) solved in the span of the examples when they are fewer than the dimensions (the
    usual case: hundreds of features, tens of examples). The penalised weights lie in that span —
    a part orthogonal to it changes no prediction and only adds to the penalty — so fitting in
    its coordinates gives the same model from an n×n system instead of a d×d one."""

    def fitted(x: Array, y: Array, l2: float = 1.0) -> Array:
        features = x[:, :-1]
        if features.shape[1] <= features.shape[0]:
            return fit(x, y, l2)
        _, _, vt = np.linalg.svd(features, full_matrices=False)
        inner = fit(np.hstack([features @ vt.T, x[:, -1:]]), y, l2)
        return np.append(vt.T @ inner[:-1], inner[-1])

    return fitted


@_in_span
def fit_logistic(x: Array, y: Array, l2: float = 1.0) -> Array:
    """L2-regularised logistic regression by Newton steps; the last column of ``x`` is the
    constant (left unpenalised)."""
    w: Array = np.zeros(x.shape[1])
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x.T * (p * (1 - p))) @ x + penalty + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w = w - step
        if float(np.abs(step).max()) < 1e-6:
            break
    return w


@_in_span
def fit_ridge(x: Array, y: Array, l2: float = 1.0) -> Array:
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    return np.asarray(np.linalg.solve(x.T @ x + penalty, x.T @ y), dtype=np.float64)


def _log_loss(z: Array, y: Array) -> float:
    p = np.clip(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _log_loss_by_fold(z: Array, y: Array, folds: npt.NDArray[np.int64]) -> float:
    return sum(_log_loss(z[folds == k], y[folds == k]) for k in np.unique(folds))


def _misclassified(z: Array, y: Array, folds: npt.NDArray[np.int64]) -> float:
    """1 - balanced accuracy of the held-out predictions, plus a thousandth of the log loss summed
    over the folds: far below one example's share of balanced accuracy with tens of examples, so
    in practice it only breaks ties."""
    predicted = z >= 0
    recalls = [float(np.mean(predicted[y == c] == bool(c))) for c in (0.0, 1.0) if (y == c).any()]
    return 1.0 - float(np.mean(recalls)) + 1e-3 * _log_loss_by_fold(z, y, folds)


def _discordance(output: Scale) -> Callable[[Array, Array, npt.NDArray[np.int64]], float]:
    """1 - Lin's concordance of the scores the ridge model would give (rounded, on the scale)
    with the experts' scores. Squared error, the ridge's own loss, preferred the strongest L2:
    predictions shrunk toward the middle of the scale, which rounding turns into the middle
    score for nearly every case (travel on the local MiniLM: CCC 0.36 against 0.61)."""

    def score(z: Array, y: Array, folds: npt.NDArray[np.int64]) -> float:
        return 1.0 - concordance(np.clip(np.round(z), output.low, output.high), y)

    return score


def concordance(x: Array, y: Array) -> float:
    """Lin's concordance correlation coefficient; 1.0 when both are one and the same constant."""
    denominator = x.var() + y.var() + (x.mean() - y.mean()) ** 2
    covariance = float(((x - x.mean()) * (y - y.mean())).mean())
    return 1.0 if denominator == 0 else 2 * covariance / float(denominator)


def _choose(
    designs: Sequence[Array],
    y: Array,
    fit: Callable[[Array, Array, float], Array],
    loss: Callable[[Array, Array, npt.NDArray[np.int64]], float],
) -> tuple[int, float]:
    """(which design, which L2 strength) give the lowest ``loss`` on 5-fold held-out predictions
    (deterministic folds); ties go to the earlier design, then to the weaker L2."""
    folds = np.arange(len(y)) % FOLDS
    best, best_loss = (0, L2S[-1]), math.inf
    for index, x in enumerate(designs):
        for l2 in L2S:
            z = np.zeros(len(y))
            for k in range(FOLDS):
                train, held = folds != k, folds == k
                z[held] = x[held] @ fit(x[train], y[train], l2)
            total = loss(z, y, folds)
            if total < best_loss:
                best, best_loss = (index, l2), total
    return best


def combined_value(
    output: Labels,
    model: EmbeddingModel,
    vector: npt.NDArray[np.float32],
    text: str,
    probs: Mapping[str, float],
    threshold: Threshold | None,
) -> str:
    """Two labels: the model's log-odds, centred on its fitted threshold, plus the embedding
    model's log-odds; the first label when the sum is not negative."""
    first = output.labels[0]
    p = min(max(normalise(probs, output.choices)[first], 1e-6), 1 - 1e-6)
    cut = _cut(threshold)
    z = math.log(p / (1 - p)) - math.log(cut / (1 - cut)) + model.first_logit(vector, text)
    return first if z >= 0 else output.labels[1]


def _cut(threshold: Threshold | None) -> float:
    return min(max(threshold.value if threshold is not None else 0.5, 1e-6), 1 - 1e-6)


def by_embedding(
    output: OutputType,
    rule: str,
    model: EmbeddingModel,
    query: npt.NDArray[np.float32],
    text: str,
    probs: Mapping[str, float] | None,
    threshold: Threshold | None,
    fallback: Value | None,
) -> tuple[Value | None, str | None]:
    """The verdict value under the "embedding" or "combined" rule, and how it was chosen."""
    two_labels = isinstance(output, Labels) and len(output.labels) == 2
    if rule == "combined" and two_labels and probs is not None:
        assert isinstance(output, Labels)
        value = combined_value(output, model, query, text, probs, threshold)
        return value, f"model log-odds (centred on {_cut(threshold):.3f}) + {model.describe()}"
    if isinstance(output, Labels | Scale):
        return model.predict(query, text), model.describe()
    return fallback, None
