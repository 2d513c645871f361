from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memalign.memory.vector_index import VectorIndex, _normalised


def _vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in VectorIndex.files(path))


def _exact_top(x: np.ndarray, q: np.ndarray, k: int) -> set[int]:
    return set(np.argsort(-(x @ q))[:k].tolist())


@pytest.mark.parametrize("threshold", [10_000, 50])
def test_search_finds_the_nearest_keys(threshold: int) -> None:
    x = _vectors(400)
    index = VectorIndex.build(np.arange(400), x, ann_threshold=threshold)
    assert index.approximate == (threshold == 50)
    queries = _vectors(30, seed=1)
    recall = np.mean(
        [len({k for k, _ in index.search(q, 5)} & _exact_top(x, q, 5)) / 5 for q in queries]
    )
    assert recall >= 0.95
    key, score = index.search(x[17], 1)[0]
    assert key == 17 and score == pytest.approx(1.0, abs=1e-2)


def test_exact_index_moves_to_a_graph_past_the_threshold() -> None:
    x = _vectors(120)
    index = VectorIndex(32, ann_threshold=100)
    index.add(np.arange(99), x[:99])
    assert not index.approximate
    index.add(np.arange(99, 120), x[99:])
    assert index.approximate and len(index) == 120
    assert index.search(x[110], 1)[0][0] == 110


@pytest.mark.parametrize("threshold", [10_000, 50])
def test_removed_keys_are_never_returned_and_leave_no_bytes(tmp_path: Path, threshold: int) -> None:
    x = _vectors(200)
    canary = np.full(32, 1 / np.sqrt(32), dtype=np.float32)
    x[7] = canary
    index = VectorIndex.build(np.arange(200), x, ann_threshold=threshold)
    path = tmp_path / "j.index"
    index.save(path, {"seq": 1})
    stored = _normalised(canary[None, :])[0]
    pattern = stored.astype(np.float16).tobytes() if threshold == 50 else stored.tobytes()
    assert pattern in _bytes(path)
    index.remove([7, 8, 9])
    assert 7 not in index and len(index) == 197
    assert all(k not in (7, 8, 9) for k, _ in index.search(canary, 20))
    index.save(path, {"seq": 2})
    assert pattern not in _bytes(path)
    assert len(VectorIndex.files(path)) == 2  # the pointer and one data file: the old one went


def test_add_replaces_a_key() -> None:
    x = _vectors(3)
    index = VectorIndex.build(np.arange(3), x)
    index.add([0], x[2:3])
    assert len(index) == 3
    assert {k for k, s in index.search(x[2], 2)} == {0, 2}


@pytest.mark.parametrize("threshold", [10_000, 50])
def test_save_and_load_round_trip(tmp_path: Path, threshold: int) -> None:
    x = _vectors(150)
    index = VectorIndex.build(np.arange(150) * 3, x, ann_threshold=threshold)
    index.save(tmp_path / "j.index", {"seq": 42, "judge_id": 1})
    loaded = VectorIndex.load(tmp_path / "j.index", ann_threshold=threshold)
    assert loaded is not None
    again, meta = loaded
    assert meta["seq"] == 42 and len(again) == 150 and again.approximate == index.approximate
    assert again.search(x[5], 3) == index.search(x[5], 3)


def test_a_damaged_or_mismatched_file_loads_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.index"
    assert VectorIndex.load(path) is None
    VectorIndex.build(np.arange(10), _vectors(10)).save(path, {"seq": 1})
    data = next(p for p in VectorIndex.files(path) if p.name.endswith(".data"))
    data.write_bytes(b"not an index")
    assert VectorIndex.load(path) is None
    path.write_text("{not json")
    assert VectorIndex.load(path) is None


def test_two_savers_never_mix_an_index_with_another_meta(tmp_path: Path) -> None:
    path = tmp_path / "j.index"
    small = VectorIndex.build(np.arange(5), _vectors(5))
    large = VectorIndex.build(np.arange(50), _vectors(50))
    for i in range(6):
        (small if i % 2 else large).save(path, {"seq": i})
        loaded = VectorIndex.load(path)
        assert loaded is not None
        index, meta = loaded
        assert meta["seq"] == i and len(index) == (5 if i % 2 else 50)
    assert len(VectorIndex.files(path)) == 2
