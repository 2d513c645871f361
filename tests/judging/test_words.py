"""The word features the memory model may add to a case's embedding."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from memalign.judging.words import DIMENSIONS, WEIGHT, word_features


def test_a_text_is_its_words_and_word_pairs_hashed_to_a_fixed_length() -> None:
    rows = word_features(["except: pass", "EXCEPT:  pass", "pass except:", "", "except Exception:"])
    assert rows.shape == (5, DIMENSIONS)
    assert np.linalg.norm(rows[0]) == pytest.approx(WEIGHT)
    assert np.array_equal(rows[0], rows[1])  # case and spacing do not count
    assert not np.array_equal(rows[0], rows[2])  # the same words, other pairs
    assert rows[0] @ rows[2] > rows[0] @ rows[4]  # shares more terms
    assert not rows[3].any()  # no word: nothing, not a division by zero


def test_the_features_are_the_same_in_every_process() -> None:
    # crc32, not hash(): a model fitted in one process must read cases the same in the next.
    code = (
        "from memalign.judging.words import word_features as f; print(f(['print(total)']).tolist())"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert json.loads(runs[0]) == word_features(["print(total)"]).tolist()
