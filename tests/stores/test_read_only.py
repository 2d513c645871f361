"""A store on read-only media is readable (judging included) and refuses every change with one
clear error. The media is real: a read-only bind mount, which needs root and mount rights;
elsewhere the tests skip, saying why."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from memalign import Judge, JudgeSpec, Labels, StoreError, open_store
from memalign.testing import FakeLLM, HashEmbedder

from ..conftest import feedback_batch

SPEC = JudgeSpec(name="j", instructions="Is {{ outputs }} good?", output=Labels(("Pass", "Fail")))


def _mount_read_only(source: Path, target: Path) -> None:
    for argv in (
        ["mount", "--bind", str(source), str(target)],
        ["mount", "-o", "remount,ro,bind", str(target)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            _unmount(target)
            pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")


def _unmount(target: Path) -> None:
    # Lazy: a connection the test left open must not keep the mount alive after it.
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    """A store with one aligned judge, seen through a read-only mount."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    source, target = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    store = open_store(source / "m.db")
    judge = Judge.create(store, SPEC, llm=FakeLLM(), embedder=HashEmbedder())
    judge.align(feedback_batch())
    store.close()
    _mount_read_only(source, target)
    try:
        yield target / "m.db"
    finally:
        _unmount(target)


def test_a_read_only_store_is_read_and_judged(media: Path) -> None:
    before = media.read_bytes()
    store = open_store(media, create=False)
    judge = Judge.load(store, "j", llm=FakeLLM(), embedder=HashEmbedder())
    assert [r.id for r in store.get_records(store.get_judge("j").judge_id)] == ["r1", "r2", "r3"]
    verdict = judge.judge(outputs="Sorry! Ticket #44 ships today.")
    assert verdict.error is None and verdict.value in {"Pass", "Fail"}
    assert media.read_bytes() == before
    store.close()


def test_a_read_only_store_refuses_changes_in_one_line(media: Path) -> None:
    store = open_store(media, create=False)
    judge = Judge.load(store, "j", llm=FakeLLM(), embedder=HashEmbedder())
    with pytest.raises(StoreError, match="read-only media") as caught:
        judge.forget(ids=["r1"])
    assert caught.value.location == str(media)
    with pytest.raises(StoreError, match="read-only media"):
        store.delete_judge("j")
    with pytest.raises(StoreError, match="read-only media or no permission"):
        open_store(media.parent / "new.db")
    store.close()


def test_write_ahead_log_on_read_only_media(tmp_path: Path) -> None:
    """Commits still in the -wal file are read when the shared-memory file is there, and
    refused (not silently hidden) when it is not, as with files copied off a live store."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    live, copied, target = tmp_path / "live", tmp_path / "copied", tmp_path / "ro"
    for folder in (live, copied, target):
        folder.mkdir()
    writer = open_store(live / "m.db")
    Judge.create(writer, SPEC, llm=FakeLLM(), embedder=HashEmbedder())
    # The writer stays open, so its commits are still in the -wal file, not the database.
    assert (live / "m.db-wal").stat().st_size > 0
    for name in ("m.db", "m.db-wal"):
        shutil.copy(live / name, copied / name)
    try:
        _mount_read_only(live, target)
        try:
            reader = open_store(target / "m.db", create=False)
            assert [row.spec.name for row in reader.list_judges()] == ["j"]
            with pytest.raises(StoreError, match="read-only media"):
                reader.delete_judge("j")
            reader.close()
        finally:
            _unmount(target)
        _mount_read_only(copied, target)
        try:
            with pytest.raises(StoreError, match="unmerged writes"):
                open_store(target / "m.db", create=False)
        finally:
            _unmount(target)
    finally:
        writer.close()
