from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memalign import Feedback, Judge, JudgeSpec, Labels, NotFoundError, StoreError, open_store
from memalign.records import Guideline
from memalign.stores import ChangeSet
from memalign.stores.sqlite.migrations import MIGRATIONS
from memalign.stores.sqlite.store import SQLiteStore
from memalign.testing import FakeLLM, HashEmbedder

from ..conftest import feedback_batch

SPEC = JudgeSpec(name="j", instructions="x", output=Labels(("Pass", "Fail")))


def test_durability_settings(tmp_path: Path) -> None:
    store = open_store(tmp_path / "m.db")
    assert isinstance(store, SQLiteStore)
    pragma = lambda name: store._db.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("foreign_keys") == 1
    assert pragma("secure_delete") == 1
    assert pragma("busy_timeout") > 0


def test_migrations_are_recorded_and_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    first = open_store(path)
    assert isinstance(first, SQLiteStore)
    assert first.applied_migrations() == [name for name, _ in MIGRATIONS]
    first.create_judge(SPEC)
    first.close()
    again = open_store(f"sqlite:///{path}")
    assert again.get_judge("j").spec == SPEC


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_migrations VALUES ('9999_future', 'now')")
    with pytest.raises(StoreError, match="newer schema"):
        open_store(path)


def test_judges_and_tenants_are_isolated(tmp_path: Path) -> None:
    store = open_store(tmp_path / "m.db")
    models = {"llm": FakeLLM(), "embedder": HashEmbedder()}
    one = Judge.create(store, SPEC, **models)
    two = Judge.create(store, JudgeSpec(name="k", instructions="x", output=SPEC.output), **models)
    other_tenant = Judge.create(store, SPEC, tenant="acme", **models)
    one.align(feedback_batch())
    assert two.examples() == [] and two.guidelines() == []
    assert other_tenant.examples() == [] and other_tenant.version == 0
    assert two.judge(inputs="I was charged twice", outputs="x").example_ids == []
    assert [j.spec.name for j in store.list_judges()] == ["j", "k"]
    assert [j.spec.name for j in store.list_judges(tenant="acme")] == ["j"]
    with pytest.raises(NotFoundError):
        store.get_judge("j", tenant="nobody")


def test_a_failed_commit_changes_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "m.db")
    row = store.create_judge(SPEC)
    orphan = Guideline(id="g-1", text="rule", sources=["not-a-record"])
    changes = ChangeSet(
        operation="align",
        upsert_records=[feedback_batch()[0]],
        upsert_guidelines=[(orphan, None)],
    )
    with pytest.raises(StoreError, match="constraint failed") as caught:
        store.commit(row.judge_id, changes)
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert caught.value.location == str(tmp_path / "m.db")
    assert store.get_records(row.judge_id) == []
    assert store.get_judge("j").version == 0 and store.history(row.judge_id) == []


def test_distilled_guidelines_need_a_stored_source(tmp_path: Path) -> None:
    store = open_store(tmp_path / "m.db")
    row = store.create_judge(SPEC)
    with pytest.raises(StoreError, match="no stored source"):
        store.commit(
            row.judge_id, ChangeSet("x", upsert_guidelines=[(Guideline(id="g", text="t"), None)])
        )


def test_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert open_store("sqlite:///rel.db").location == "rel.db"
    assert open_store(f"sqlite:///{tmp_path}/abs.db").location == f"{tmp_path}/abs.db"
    assert open_store("sqlite://").location == ":memory:"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert open_store().location.startswith(str(tmp_path / "data"))


def test_records_round_trip_with_time_and_annotator(tmp_path: Path) -> None:
    store = open_store(tmp_path / "m.db")
    judge = Judge.create(store, SPEC, llm=FakeLLM(), embedder=HashEmbedder())
    judge.align(feedback_batch())
    stored = store.get_records(judge.judge_id, ["r2"])
    assert len(stored) == 1 and isinstance(stored[0], Feedback)
    assert stored[0].annotator == "bob" and stored[0].created_at is not None
    assert store.find_record_ids(judge.judge_id, annotator="ann") == ["r1", "r3"]
