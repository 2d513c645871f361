"""A judge bound to its memory: build working memory → prompt → model → parsed verdict."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memalign.accounting import Meter
from memalign.alignment import curate
from memalign.decision import (
    EVIDENCE_WINDOW,
    decide,
    fit_rules,
    normalise,
    value_from_probs,
)
from memalign.embedders import Embedder
from memalign.embedding_client import EmbeddingClient
from memalign.errors import MemalignError, ParseError
from memalign.judge_spec import JudgeSpec
from memalign.memory.episodic import EpisodicIndex
from memalign.model_client import ModelClient
from memalign.parsing import parse_verdict
from memalign.providers import Completion, CompletionRequest, LLMProvider, Message
from memalign.records import (
    AlignmentReport,
    Case,
    Example,
    Feedback,
    ForgetReport,
    Guideline,
    MemoryVersion,
    Verdict,
    canonical_json,
)
from memalign.rendering import example_key
from memalign.stores import DEFAULT_TENANT, JudgeRow, MemoryStore, Vector
from memalign.working_memory import (
    MemorySnapshot,
    WorkingMemory,
    answer_format,
    build_working_memory,
    needs_query,
    retrieve,
    verdict_schema,
    wants_examples,
)

if TYPE_CHECKING:
    from memalign.alignment.align import OnInvalid


def _client(model: LLMProvider | ModelClient) -> ModelClient:
    return model if isinstance(model, ModelClient) else ModelClient(model)


def _embedding_client(embedder: Embedder | EmbeddingClient) -> EmbeddingClient:
    return embedder if isinstance(embedder, EmbeddingClient) else EmbeddingClient(embedder)


class Judge:
    """One judge in a store, with the models it uses. Create with :meth:`create` or
    :meth:`load`; align with :meth:`align`, judge with :meth:`judge`."""

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
        self.store = store
        self._row = row
        self.llm = _client(llm)
        self.reflection = _client(reflection_llm) if reflection_llm is not None else self.llm
        self.embedder = _embedding_client(embedder)
        self.use_cache = use_cache
        self.fit_decision = fit_decision
        self._snapshot: MemorySnapshot | None = None
        self._episodic: EpisodicIndex | None = None
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def create(
        cls, store: MemoryStore, spec: JudgeSpec, *, tenant: str = DEFAULT_TENANT, **models: Any
    ) -> Judge:
        return cls(store, store.create_judge(spec, tenant=tenant), **models)

    @classmethod
    def load(
        cls, store: MemoryStore, name: str, *, tenant: str = DEFAULT_TENANT, **models: Any
    ) -> Judge:
        return cls(store, store.get_judge(name, tenant=tenant), **models)

    @property
    def judge_id(self) -> int:
        return self._row.judge_id

    @property
    def spec(self) -> JudgeSpec:
        return self._row.spec

    @property
    def name(self) -> str:
        return self._row.spec.name

    def refresh(self) -> JudgeRow:
        self._row = self.store.get_judge(self._row.spec.name, tenant=self._row.tenant)
        return self._row

    @property
    def version(self) -> int:
        return self.refresh().version

    @property
    def episodic(self) -> EpisodicIndex:
        if self._episodic is None:
            self._episodic = EpisodicIndex(
                self.store, self.judge_id, self.store.index_path(self.judge_id)
            )
        return self._episodic

    def snapshot(self) -> MemorySnapshot:
        version = self.version
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self.episodic.sync()
                threshold, blend = None, None
                if self.fit_decision:
                    threshold, blend = fit_rules(
                        self.spec.output,
                        *self.store.recent_examples(self.judge_id, EVIDENCE_WINDOW),
                        self.spec.memory.k,
                        blend=self.spec.memory.decision == "blend",
                    )
                self._snapshot = MemorySnapshot(
                    version,
                    self.store.guidelines(self.judge_id),
                    self.episodic,
                    len(self.episodic),
                    threshold,
                    blend,
                )
            return self._snapshot

    # -- inspection -----------------------------------------------------------------------

    def guidelines(self, *, include_retired: bool = True) -> list[Guideline]:
        items = [g for g, _ in self.store.guidelines(self.judge_id)]
        return [g for g in items if include_retired or g.status != "retired"]

    def examples(self) -> list[Example]:
        return self.store.examples(self.judge_id)[0]

    def history(self) -> list[MemoryVersion]:
        return self.store.history(self.judge_id)

    # -- changing memory (the work lives in memalign.alignment) ---------------------------

    def align(
        self,
        records: Iterable[Feedback],
        *,
        detect_disagreements: bool | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> AlignmentReport:
        """Learn from a batch of expert feedback; identical records already stored cost nothing."""
        from memalign.alignment.align import align

        return align(
            self, records, detect_disagreements=detect_disagreements, on_invalid=on_invalid
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
        from memalign.alignment.forget import forget

        return forget(
            self, ids=ids, annotator=annotator, before=before, after=after, dry_run=dry_run
        )

    def add_guideline(self, text: str, *, pinned: bool = False) -> Guideline:
        return curate.add_guideline(self, text, pinned=pinned)

    def edit_guideline(self, guideline_id: str, text: str) -> Guideline:
        return curate.edit_guideline(self, guideline_id, text)

    def pin_guideline(self, guideline_id: str, pinned: bool = True) -> Guideline:
        return curate.set_pinned(self, guideline_id, pinned)

    def retire_guideline(self, guideline_id: str) -> Guideline:
        return curate.set_status(self, guideline_id, "retired")

    def approve_guideline(self, guideline_id: str) -> Guideline:
        return curate.set_status(self, guideline_id, "active")

    def export(self, path: str | Path) -> int:
        from memalign.transfer import export_judge

        return export_judge(self.store, self.name, Path(path), tenant=self._row.tenant)

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
        if query is None and needs_query(self.spec, snapshot):
            query = self.embedder.embed([example_key(case, self.spec)], meter)[0]
        return build_working_memory(self.spec, case, snapshot, query, exclude)

    def case_hash(self, case: Case) -> str:
        body = canonical_json([self.spec.to_dict(), case.model_dump(mode="json")])
        return hashlib.sha256(body.encode()).hexdigest()

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
        return self._judge(case, self.snapshot(), exclude)

    def judge_many(
        self,
        cases: Iterable[Case],
        *,
        concurrency: int = 1,
        on_done: Callable[[int, Verdict], None] | None = None,
        exclude: Sequence[Sequence[str]] | None = None,
        rationale: bool = True,
    ) -> list[Verdict]:
        """Judge cases under one memory snapshot; verdicts come back in input order.

        Case keys are embedded in one batch, and cases that retrieve the same examples are
        judged back to back so the model can reuse the longest possible prompt prefix.
        ``exclude`` gives, per case, record ids to leave out of retrieval (e.g. a feedback
        record's own example when re-scoring it)."""
        snapshot = self.snapshot()
        items = list(cases)
        skip: list[Sequence[str]] = list(exclude) if exclude is not None else [()] * len(items)
        if len(skip) != len(items):
            raise ValueError("exclude needs one entry per case")
        queries: list[Vector | None] = [None] * len(items)
        order = list(range(len(items)))
        if items and needs_query(self.spec, snapshot):
            batch = Meter()
            vectors = self.embedder.embed([example_key(c, self.spec) for c in items], batch)
            queries = list(vectors)
            embed_calls = batch.snapshot().embed_calls
            if wants_examples(self.spec, snapshot):
                signature = [
                    tuple(e.record_id for e, _ in retrieve(self.spec, v, snapshot, skip[i]))
                    for i, v in enumerate(vectors)
                ]
                order.sort(key=lambda i: signature[i])
        results: list[Verdict | None] = [None] * len(items)

        def one(rank: int) -> None:
            index = order[rank]
            verdict = self._judge(
                items[index], snapshot, skip[index], queries[index], rationale=rationale
            )
            if queries[index] is not None:
                # The batch embedding, attributed so that per-verdict usage still adds up.
                verdict.usage.embedded_texts += 1
                verdict.usage.embed_calls += embed_calls if rank == 0 else 0
            results[index] = verdict
            if on_done is not None:
                on_done(index, verdict)

        if concurrency <= 1:
            for rank in range(len(items)):
                one(rank)
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(one, range(len(items))))
        return [v for v in results if v is not None]

    def _judge(
        self,
        case: Case,
        snapshot: MemorySnapshot,
        exclude: Sequence[str],
        query: Vector | None = None,
        *,
        rationale: bool = True,
    ) -> Verdict:
        key = self.case_hash(case)
        if self.use_cache and not exclude:
            cached = self.store.cached_verdict(self.judge_id, snapshot.version, key)
            if cached is not None:
                return cached.model_copy(update={"usage": type(cached.usage)()})
        meter = Meter()
        with meter.timed():
            try:
                memory = self.working_memory(case, snapshot, meter, exclude, query)
                value, why, probs = self._ask(memory.messages, meter, rationale=rationale)
                error = None
            except (MemalignError, ValueError) as exc:
                memory = None
                value, why, probs, error = None, "", None, f"{type(exc).__name__}: {exc}"
        decision = None
        if probs is not None and memory is not None:
            value, decision = decide(
                self.spec.output, probs, snapshot.threshold, snapshot.blend, memory.vote
            )
        verdict = Verdict(
            judge=self.name,
            value=value,
            rationale=why,
            guideline_ids=[g.id for g in memory.guidelines] if memory else [],
            example_ids=[e.record_id for e in memory.examples] if memory else [],
            memory_version=snapshot.version,
            probabilities=probs,
            decision=decision,
            vote=memory.vote if memory else None,
            usage=meter.snapshot(),
            error=error,
        )
        if self.use_cache and not exclude and rationale and verdict.ok:
            self.store.cache_verdict(self.judge_id, snapshot.version, key, verdict)
        return verdict

    def _ask(
        self,
        messages: tuple[Message, ...],
        meter: Meter,
        *,
        rationale: bool = True,
    ) -> tuple[str | int | float, str, dict[str, float] | None]:
        output = self.spec.output
        request = CompletionRequest(
            messages=messages,
            schema=verdict_schema(output, rationale=rationale),
            choices=output.choices or None,
            purpose="judge",
            rationale=rationale,
            max_tokens=400 if rationale else 40,
        )
        completion = self.llm.complete(request, meter)
        if completion.choice_probs and output.choices:
            probs = normalise(completion.choice_probs, output.choices)
            try:
                _, why = parse_verdict(completion.text, output)
            except ParseError:
                why = completion.text.strip()[:400]
            return value_from_probs(output, probs), why, probs
        try:
            value, why = parse_verdict(completion.text, output)
            return value, why, None
        except ParseError as first:
            retry = self._reask(request, completion, first, meter)
            value, why = parse_verdict(retry.text, output)
            return value, why, None

    def _reask(
        self, request: CompletionRequest, bad: Completion, error: ParseError, meter: Meter
    ) -> Completion:
        """The last rung of the parsing ladder: show the model its answer and the error once."""
        messages = (
            *request.messages,
            Message("assistant", bad.text[:2000]),
            Message(
                "user",
                f"That answer could not be read ({error}). Reply with only the JSON object, "
                f'with "value" one of: {answer_format(self.spec.output)}.',
            ),
        )
        return self.llm.complete(
            CompletionRequest(
                messages=messages,
                schema=request.schema,
                max_tokens=request.max_tokens,
                purpose="judge",
                metadata={"reask": True},
            ),
            meter,
        )
