from __future__ import annotations

import random

import pytest
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    roc_auc_score,
)
from sklearn.metrics import confusion_matrix as sk_confusion

from memalign.errors import InputError
from memalign.evaluation.metrics import (
    accuracy,
    auc,
    balanced_accuracy,
    ccc,
    cohen_kappa,
    confusion_matrix,
    pairwise_accuracy,
)


def _random_labels(seed: int, n: int, classes: list[str]) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    return [rng.choice(classes) for _ in range(n)], [rng.choice(classes) for _ in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_and_kappa_match_sklearn(seed: int) -> None:
    predictions, labels = _random_labels(seed, 60, ["Pass", "Fail", "N/A"])
    assert accuracy(predictions, labels) == pytest.approx(accuracy_score(labels, predictions))
    assert cohen_kappa(predictions, labels) == pytest.approx(cohen_kappa_score(labels, predictions))


@pytest.mark.parametrize("seed", range(5))
def test_balanced_accuracy_matches_sklearn(seed: int) -> None:
    predictions, labels = _random_labels(seed, 60, ["Pass", "Fail", "N/A"])
    assert balanced_accuracy(predictions, labels) == pytest.approx(
        balanced_accuracy_score(labels, predictions)
    )


def test_balanced_accuracy_sees_through_a_constant_answer_on_skewed_labels() -> None:
    labels = ["correct"] * 9 + ["incorrect"]
    assert accuracy(["correct"] * 10, labels) == 0.9
    assert balanced_accuracy(["correct"] * 10, labels) == 0.5


def test_confusion_matrix_matches_sklearn() -> None:
    predictions, labels = _random_labels(7, 40, ["A", "B", "tie"])
    classes = ["A", "B", "tie"]
    assert (
        confusion_matrix(predictions, labels, classes)
        == sk_confusion(labels, predictions, labels=classes).tolist()
    )


@pytest.mark.parametrize("seed", range(5))
def test_ccc_matches_its_definition_via_scipy(seed: int) -> None:
    rng = random.Random(seed)
    y = [rng.randint(1, 5) for _ in range(50)]
    x = [min(5, max(1, v + rng.choice([-1, 0, 0, 1]))) for v in y]
    r = stats.pearsonr(x, y).statistic
    sx, sy = stats.tstd(x, ddof=0), stats.tstd(y, ddof=0)
    mx, my = sum(x) / len(x), sum(y) / len(y)
    expected = 2 * r * sx * sy / (sx**2 + sy**2 + (mx - my) ** 2)
    assert ccc(x, y) == pytest.approx(expected)


def test_ccc_penalises_bias_unlike_correlation() -> None:
    y = [1, 2, 3, 4, 5]
    assert ccc(y, y) == pytest.approx(1.0)
    shifted = [v + 1 for v in y]
    assert stats.pearsonr(shifted, y).statistic == pytest.approx(1.0)
    assert ccc(shifted, y) == pytest.approx(0.8)  # 2·2 / (2 + 2 + 1²)


def test_pairwise_tie_policies() -> None:
    predictions = ["A", "tie", "B", "A"]
    labels = ["A", "A", "tie", "B"]
    assert pairwise_accuracy(predictions, labels, ties="strict") == 0.25
    assert pairwise_accuracy(predictions, labels, ties="half") == pytest.approx(0.5)
    assert pairwise_accuracy(predictions, labels, ties="exclude") == pytest.approx(1 / 3)


def test_empty_or_mismatched_inputs_are_errors() -> None:
    with pytest.raises(InputError):
        accuracy([], [])
    with pytest.raises(InputError):
        ccc([1.0], [1.0, 2.0])


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_sklearn_ties_included(seed: int) -> None:
    rng = random.Random(seed)
    scores = [rng.choice([0.1, 0.2, 0.3, 0.5, 0.9]) for _ in range(60)]
    positive = [rng.random() < 0.4 for _ in range(60)]
    assert auc(scores, positive) == pytest.approx(roc_auc_score(positive, scores))


def test_auc_needs_both_classes() -> None:
    with pytest.raises(InputError, match="positive and negative"):
        auc([0.2, 0.8], [True, True])
