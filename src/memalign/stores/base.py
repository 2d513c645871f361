"""Where memory lives: the ``MemoryStore`` protocol and the change set every write goes through.

A store holds many judges (optionally per tenant), each with its records, guidelines, examples,
verdict cache and version history. Every change goes through ``commit(ChangeSet)``: one
transaction, one new memory version. Model calls happen before a change set is built, so a
transaction never waits on a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from memalign.judge_spec import JudgeSpec
from memalign.memory import Vector
from memalign.records import Example, Feedback, Guideline, MemoryVersion, Verdict

DEFAULT_TENANT = "default"
# What an example must carry to be read by ``recent_examples``: the judge's first-pass label
# probabilities, those or its verdict ("answer"), or nothing ("any": the newest examples).
Evidence = Literal["probabilities", "answer", "any"]


@dataclass(frozen=True)
class JudgeRow:
    judge_id: int
    tenant: str
    spec: JudgeSpec
    version: int
    created_at: datetime


@dataclass
class ChangeSet:
    """Everything one operation changes. Applied in this order: delete records (their examples
    and guideline source links go with them), upsert records, delete guidelines, upsert
    guidelines with their sources, upsert examples; then the verdict cache is cleared and the
    memory version bumped."""

    operation: str
    delete_records: list[str] = field(default_factory=list)
    upsert_records: list[Feedback] = field(default_factory=list)
    delete_guidelines: list[str] = field(default_factory=list)
    upsert_guidelines: list[tuple[Guideline, Vector | None]] = field(default_factory=list)
    upsert_examples: list[tuple[Example, Vector]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    spec: JudgeSpec | None = None


class MemoryStore(Protocol):
    location: str

    def create_judge(self, spec: JudgeSpec, *, tenant: str = DEFAULT_TENANT) -> JudgeRow: ...
    def get_judge(self, name: str, *, tenant: str = DEFAULT_TENANT) -> JudgeRow: ...
    def list_judges(self, *, tenant: str = DEFAULT_TENANT) -> list[JudgeRow]: ...
    def delete_judge(self, name: str, *, tenant: str = DEFAULT_TENANT) -> None: ...

    def record_hashes(self, judge_id: int, ids: Sequence[str] | None = None) -> dict[str, str]: ...
    def get_records(self, judge_id: int, ids: Sequence[str] | None = None) -> list[Feedback]: ...
    def find_record_ids(
        self,
        judge_id: int,
        *,
        annotator: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
    ) -> list[str]: ...

    def guidelines(self, judge_id: int) -> list[tuple[Guideline, Vector | None]]: ...
    def examples(self, judge_id: int) -> tuple[list[Example], Vector]: ...
    def example_count(self, judge_id: int, record_ids: Sequence[str] | None = None) -> int: ...
    def examples_by_key(self, judge_id: int, keys: Sequence[int]) -> dict[int, Example]: ...
    def recent_examples(
        self, judge_id: int, limit: int, *, carrying: Evidence = "probabilities"
    ) -> tuple[list[Example], Vector]: ...
    def example_vectors(
        self, judge_id: int, keys: Sequence[int] | None = None
    ) -> tuple[int, npt.NDArray[np.int64], Vector]: ...
    def example_log(self, judge_id: int, after: int) -> list[tuple[int, int, bool]]: ...
    def index_path(self, judge_id: int) -> Path | None: ...
    def history(self, judge_id: int) -> list[MemoryVersion]: ...

    def cached_verdict(self, judge_id: int, version: int, case_hash: str) -> Verdict | None: ...
    def cache_verdict(self, judge_id: int, version: int, case_hash: str, v: Verdict) -> None: ...

    def commit(self, judge_id: int, changes: ChangeSet) -> int: ...
    # Serialises read-modify-commit operations (alignment) across threads and processes.
    def writer(self) -> AbstractContextManager[None]: ...
    def compact(self, *, vacuum: bool = True) -> None: ...
    def close(self) -> None: ...
