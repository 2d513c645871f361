"""Cross-validation folds over memory's labelled examples, stratified by label.

Folds cut in arrival order let the held-out labels skew against the training ones: with 50
examples split 25/25, a fold holding 7 of one label trains on 18 of it against 25, so a model
over the embeddings is pushed toward the other label exactly where it is scored, and reads
below chance where the signal is weak. Dealing each label's examples round-robin over the folds
keeps every fold's mix close to memory's (design/decision.md).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt


def stratified_folds(labels: Sequence[Hashable], folds: int) -> npt.NDArray[np.int64]:
    """The fold of each example: each label's examples, in the order given, dealt over the
    folds in turn, each label starting where the previous one stopped so that small labels do
    not all land in the first folds. Deterministic."""
    assigned = np.zeros(len(labels), dtype=np.int64)
    groups: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    dealt = 0
    for label in sorted(groups, key=str):
        for i in groups[label]:
            assigned[i] = dealt % folds
            dealt += 1
    return assigned
