"""``Judge``: the one object most users need — create or load a judge, align it on expert
feedback, judge cases, curate and forget its memory, export it.

A thin façade: judging lives in :class:`memalign.judging.JudgeEngine`, changing memory in
:mod:`memalign.alignment`, files in :mod:`memalign.io`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from memalign.accounting import Meter
from memalign.alignment import OnExisting, OnInvalid, align, curate, forget
from memalign.embedders import Embedder, EmbeddingClient
from memalign.io.transfer import export_judge
from memalign.judge_spec import Decision, JudgeSpec
from memalign.judging import JudgeEngine, MemorySnapshot, WorkingMemory
from memalign.memory import EpisodicIndex, Vector
from memalign.models import build_models, check_spec_models
from memalign.providers import LLMProvider, ModelClient
from memalign.records import (
    AlignmentReport,
    Case,
    Check,
    Example,
    Feedback,
    ForgetReport,
    Guideline,
    MemoryVersion,
    Verdict,
)
from memalign.stores import DEFAULT_TENANT, JudgeRow, MemoryStore


def _models(model: str | None, models: dict[str, Any]) -> dict[str, Any]:
    if model is None:
        return models
    return {**build_models(model).as_kwargs(), **models}


class Judge:
    """One judge in a store, with the models it uses. Create with :meth:`create` or
    :meth:`load` (models as clients, or a model string such as ``"local"``, ``"fake"``,
    ``"openai/gpt-4.1-mini"``); align with :meth:`align`, judge with :meth:`judge`."""

    def __init__(
        self,
        store: MemoryStore,
        row: JudgeRow,
        *,
        llm: LLMProvider | ModelClient,
        embedder: Embedder | EmbeddingClient,
        reflection_llm: LLMProvider | ModelClient | None = None,
        use_cache: bool = True,
        fit_decision: bool = True,
    ) -> None:
        self.engine = JudgeEngine(
            store,
            row,
            llm=llm,
            embedder=embedder,
            reflection_llm=reflection_llm,
            use_cache=use_cache,
            fit_decision=fit_decision,
        )

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        store: MemoryStore,
        spec: JudgeSpec,
        *,
        model: str | None = None,
        tenant: str = DEFAULT_TENANT,
        **models: Any,
    ) -> Judge:
        """A new judge in ``store``. ``model`` builds every role from one model string;
        ``llm=``/``embedder=``/``reflection_llm=`` give (or override) them one by one."""
        models = _models(model, models)
        check_spec_models(spec)
        return cls(store, store.create_judge(spec, tenant=tenant), **models)

    @classmethod
    def load(
        cls,
        store: MemoryStore,
        name: str,
        *,
        model: str | None = None,
        tenant: str = DEFAULT_TENANT,
        **models: Any,
    ) -> Judge:
        models = _models(model, models)
        return cls(store, store.get_judge(name, tenant=tenant), **models)

    # -- what it is -----------------------------------------------------------------------

    @property
    def store(self) -> MemoryStore:
        return self.engine.store

    @property
    def llm(self) -> ModelClient:
        return self.engine.llm

    @property
    def reflection(self) -> ModelClient:
        return self.engine.reflection

    @property
    def embedder(self) -> EmbeddingClient:
        return self.engine.embedder

    @property
    def judge_id(self) -> int:
        return self.engine.judge_id

    @property
    def spec(self) -> JudgeSpec:
        return self.engine.spec

    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def version(self) -> int:
        return self.engine.refresh().version

    @property
    def episodic(self) -> EpisodicIndex:
        return self.engine.episodic

    def refresh(self) -> JudgeRow:
        return self.engine.refresh()

    def snapshot(self) -> MemorySnapshot:
        return self.engine.snapshot()

    # -- inspection -----------------------------------------------------------------------

    def guidelines(self, *, include_retired: bool = True) -> list[Guideline]:
        items = [g for g, _ in self.store.guidelines(self.judge_id)]
        return [g for g in items if include_retired or g.status != "retired"]

    def examples(self) -> list[Example]:
        return self.store.examples(self.judge_id)[0]

    def history(self) -> list[MemoryVersion]:
        return self.store.history(self.judge_id)

    # -- changing memory ------------------------------------------------------------------

    def align(
        self,
        records: Iterable[Feedback],
        *,
        detect_disagreements: bool | None = None,
        on_invalid: OnInvalid = "raise",
        on_existing: OnExisting = "replace",
    ) -> AlignmentReport:
        """Learn from a batch of expert feedback; identical records already stored cost nothing.
        A stored id with new content replaces the old record and what was derived from it
        (``report.records_replaced``), or, with ``on_existing="refuse"``, refuses the batch."""
        return align(
            self.engine,
            records,
            detect_disagreements=detect_disagreements,
            on_invalid=on_invalid,
            on_existing=on_existing,
        )

    def forget(
        self,
        ids: Collection[str] | None = None,
        *,
        annotator: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        dry_run: bool = False,
    ) -> ForgetReport:
        """Delete records and everything derived from them, then compact the store."""
        return forget(
            self.engine, ids=ids, annotator=annotator, before=before, after=after, dry_run=dry_run
        )

    def add_guideline(
        self, text: str, *, pinned: bool = False, check: Check | None = None
    ) -> Guideline:
        """A hand-written rule; with ``check``, also a test validated on the labelled records
        (see ``memalign.checks``) that decides verdicts while they bear it out."""
        return curate.add_guideline(self.engine, text, pinned=pinned, check=check)

    def edit_guideline(self, guideline_id: str, text: str) -> Guideline:
        return curate.edit_guideline(self.engine, guideline_id, text)

    def set_check(self, guideline_id: str, check: Check | None) -> Guideline:
        """Give a guideline a check (validated first), replace it, or remove it (``None``)."""
        return curate.set_check(self.engine, guideline_id, check)

    def pin_guideline(self, guideline_id: str, pinned: bool = True) -> Guideline:
        return curate.set_pinned(self.engine, guideline_id, pinned)

    def retire_guideline(self, guideline_id: str) -> Guideline:
        return curate.set_status(self.engine, guideline_id, "retired")

    def approve_guideline(self, guideline_id: str) -> Guideline:
        return curate.set_status(self.engine, guideline_id, "active")

    def set_decision(self, rule: str) -> Decision:
        """Pin what decides a verdict the checks leave (``"llm"``, ``"embedding"``, ...) or
        hand the choice back to memory (``"auto"``); see ``MemoryConfig.decision``."""
        return curate.set_decision(self.engine, rule)

    def export(self, path: str | Path) -> int:
        return export_judge(self.store, self.name, Path(path), tenant=self.engine.row.tenant)

    # -- judging --------------------------------------------------------------------------

    def working_memory(
        self,
        case: Case,
        snapshot: MemorySnapshot,
        meter: Meter,
        exclude: Sequence[str] = (),
        query: Vector | None = None,
    ) -> WorkingMemory:
        """Guidelines + the k most similar examples + the case, as messages for the model."""
        return self.engine.working_memory(case, snapshot, meter, exclude, query)

    def judge(
        self,
        case: Case | None = None,
        *,
        inputs: Any = None,
        outputs: Any = None,
        expectations: Any = None,
        exclude: Sequence[str] = (),
    ) -> Verdict:
        """Judge one case. Errors come back as a verdict with ``error`` set, never a label."""
        if case is None:
            case = Case(inputs=inputs, outputs=outputs, expectations=expectations)
        return self.engine.judge(case, exclude)

    def judge_many(
        self,
        cases: Iterable[Case],
        *,
        concurrency: int = 1,
        on_done: Callable[[int, Verdict], None] | None = None,
        exclude: Sequence[Sequence[str]] | None = None,
        rationale: bool = True,
    ) -> list[Verdict]:
        """Judge cases under one memory snapshot; verdicts come back in input order."""
        return self.engine.judge_many(
            cases, concurrency=concurrency, on_done=on_done, exclude=exclude, rationale=rationale
        )
