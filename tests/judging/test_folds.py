"""Cross-validation folds stratified by label."""

from __future__ import annotations

from collections import Counter

from memalign.judging.folds import stratified_folds


def test_each_fold_holds_memorys_mix_of_labels_even_when_labels_arrive_in_runs() -> None:
    # Arrival order that cut folds by position would skew: runs of one label, then the other.
    labels = ["pass"] * 3 + ["fail"] * 7 + ["pass"] * 22 + ["fail"] * 18
    folds = stratified_folds(labels, 10)
    for fold in range(10):
        mix = Counter(label for label, f in zip(labels, folds, strict=True) if f == fold)
        # 25 of each label over 10 folds: 2 or 3 of each in every fold.
        assert mix["pass"] in (2, 3) and mix["fail"] in (2, 3)


def test_folds_are_filled_evenly_and_deterministically() -> None:
    labels = [1, 2, 3, 4, 5] * 7 + [3, 3, 3]
    folds = stratified_folds(labels, 10)
    sizes = Counter(folds.tolist())
    assert set(sizes) == set(range(10)) and max(sizes.values()) - min(sizes.values()) <= 1
    assert (folds == stratified_folds(labels, 10)).all()


def test_a_rare_label_is_spread_over_folds_not_piled_into_the_first() -> None:
    labels = ["a"] * 12 + ["b"] * 3
    folds = stratified_folds(labels, 5)
    rare = [f for label, f in zip(labels, folds, strict=True) if label == "b"]
    assert len(set(rare)) == 3
