"""The bound judge: one judge's spec and memory in a store, with the models it uses.

It owns the memory snapshot (loaded once per memory version and shared by every call at that
version), the episodic index, the verdict cache, and judging itself: working memory → prompt →
model → verdict. Alignment and forgetting take this engine, never the :class:`memalign.Judge`
façade, so the façade can sit above them without an import cycle.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from memalign.accounting import Meter
from memalign.embedders import Embedder, EmbeddingClient
from memalign.errors import InputError, MemalignError
from memalign.judge_spec import JudgeSpec
from memalign.judging.decision import (
    active_checks,
    checks_fired,
    decide,
    decided_by_checks,
    vote_value,
)
from memalign.judging.embedding_model import by_embedding
from memalign.judging.fitting import FittedDecision, fit_decision
from memalign.judging.pairwise_model import by_pairwise_model, response_texts
from memalign.judging.verdict import ask_verdict
from memalign.judging.working_memory import (
    MemorySnapshot,
    WorkingMemory,
    build_working_memory,
    needs_query,
    retrieve,
    wants_examples,
)
from memalign.memory import EpisodicIndex, Vector
from memalign.prompts.rendering import example_key
from memalign.providers import LLMProvider, ModelClient
from memalign.records import Case, CheckHit, Example, Verdict, canonical_json
from memalign.stores import JudgeRow, MemoryStore

Hits = list[tuple[Example, float]]


def _client(model: LLMProvider | ModelClient) -> ModelClient:
    return model if isinstance(model, ModelClient) else ModelClient(model)


def _embedding_client(embedder: Embedder | EmbeddingClient) -> EmbeddingClient:
    return embedder if isinstance(embedder, EmbeddingClient) else EmbeddingClient(embedder)


class JudgeEngine:
    """A judge bound to its store row and models. Thread-safe for judging."""

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

    @property
    def row(self) -> JudgeRow:
        return self._row

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
        """Re-read the judge's row: another process may have changed its memory."""
        self._row = self.store.get_judge(self._row.spec.name, tenant=self._row.tenant)
        return self._row

    @property
    def episodic(self) -> EpisodicIndex:
        if self._episodic is None:
            self._episodic = EpisodicIndex(
                self.store, self.judge_id, self.store.index_path(self.judge_id)
            )
        return self._episodic

    def snapshot(self) -> MemorySnapshot:
        version = self.refresh().version
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self.episodic.sync()
                guidelines = self.store.guidelines(self.judge_id)
                checks = active_checks(g for g, _ in guidelines)
                fitted = (
                    fit_decision(self.spec, self.store, self.judge_id, self.embedder.embed, checks)
                    if self.fit_decision
                    else FittedDecision()  # the model's plain read-out, nothing fitted
                )
                self._snapshot = MemorySnapshot(
                    version,
                    guidelines,
                    self.episodic,
                    len(self.episodic),
                    fitted.threshold,
                    fitted.blend,
                    checks,
                    fitted.embedding_model,
                    fitted.rule,
                    fitted.choice,
                    fitted.pairwise_model,
                )
            return self._snapshot

    def working_memory(
        self,
        case: Case,
        snapshot: MemorySnapshot,
        meter: Meter,
        exclude: Sequence[str] = (),
        query: Vector | None = None,
        hits: Hits | None = None,
    ) -> WorkingMemory:
        """Guidelines + the k most similar examples + the case, as messages for the model."""
        if query is None and needs_query(self.spec, snapshot):
            query = self.embedder.embed([example_key(case, self.spec)], meter)[0]
        return build_working_memory(self.spec, case, snapshot, query, exclude, hits)

    def case_hash(self, case: Case) -> str:
        body = canonical_json([self.spec.to_dict(), case.model_dump(mode="json")])
        return hashlib.sha256(body.encode()).hexdigest()

    def judge(self, case: Case, exclude: Sequence[str] = ()) -> Verdict:
        """Judge one case. Errors come back as a verdict with ``error`` set, never a label."""
        return self._judge(case, self.snapshot(), exclude)

    def judge_many(
        self,
        cases: Iterable[Case],
        *,
        concurrency: int = 1,
        on_done: Callable[[int, Verdict], None] | None = None,
        exclude: Sequence[Sequence[str]] | None = None,
        rationale: bool = True,
        checks_decide: bool = True,
    ) -> list[Verdict]:
        """Judge cases under one memory snapshot; verdicts come back in input order.

        Case keys are embedded in one batch, and cases that retrieve the same examples are
        judged back to back so the model can reuse the longest possible prompt prefix; the
        examples retrieved to order the batch are the ones each prompt is built from.
        ``exclude`` gives, per case, record ids to leave out of retrieval (e.g. a feedback
        record's own example when re-scoring it). ``checks_decide=False``: the model answers
        even where the validated checks would decide (alignment has let the checks as it will
        leave them judge already)."""
        snapshot = self.snapshot()
        items = list(cases)
        skip: list[Sequence[str]] = list(exclude) if exclude is not None else [()] * len(items)
        if len(skip) != len(items):
            raise InputError(
                f"exclude has {len(skip)} entries for {len(items)} cases: one per case",
                field="exclude",
            )
        queries: list[Vector | None] = [None] * len(items)
        hits: list[Hits | None] = [None] * len(items)
        order = list(range(len(items)))
        embed_calls = 0
        if items and needs_query(self.spec, snapshot):
            batch = Meter()
            vectors = self.embedder.embed([example_key(c, self.spec) for c in items], batch)
            queries = list(vectors)
            embed_calls = batch.snapshot().embed_calls
            if wants_examples(self.spec, snapshot):
                hits = [retrieve(self.spec, v, snapshot, skip[i]) for i, v in enumerate(vectors)]
                signature = [tuple(e.record_id for e, _ in found or ()) for found in hits]
                order.sort(key=lambda i: signature[i])
        results: list[Verdict | None] = [None] * len(items)

        def one(rank: int) -> None:
            index = order[rank]
            verdict = self._judge(
                items[index],
                snapshot,
                skip[index],
                queries[index],
                hits[index],
                rationale=rationale,
                checks_decide=checks_decide,
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
        hits: Hits | None = None,
        *,
        rationale: bool = True,
        checks_decide: bool = True,
    ) -> Verdict:
        key = self.case_hash(case)
        if self.use_cache and not exclude:
            cached = self.store.cached_verdict(self.judge_id, snapshot.version, key)
            if cached is not None:
                return cached.model_copy(update={"usage": type(cached.usage)()})
        output = self.spec.output
        fired = checks_fired(snapshot.checks, case, output) if snapshot.checks else []
        let_checks = checks_decide and self.spec.memory.checks_decide
        decided = decided_by_checks(fired, output) if let_checks else None
        if decided is not None:
            verdict = self._by_checks(case, snapshot, fired, decided)
            if self.use_cache and not exclude and rationale:
                self.store.cache_verdict(self.judge_id, snapshot.version, key, verdict)
            return verdict
        meter = Meter()
        text = ""  # the case's example key, when the memory model reads it (embedding and words)
        with meter.timed():
            try:
                if snapshot.embedding_model is not None:
                    text = example_key(case, self.spec)
                if snapshot.embedding_model is not None and query is None:
                    query = self.embedder.embed([text], meter)[0]
                memory = self.working_memory(case, snapshot, meter, exclude, query, hits)
                value, why, probs = ask_verdict(
                    self.llm, self.spec.output, memory.messages, meter, rationale=rationale
                )
                error = None
            except (MemalignError, ValueError) as exc:
                memory = None
                value, why, probs, error = None, "", None, f"{type(exc).__name__}: {exc}"
        decision = None
        if probs is not None and memory is not None:
            value, decision = decide(
                self.spec.output,
                probs,
                snapshot.threshold,
                snapshot.blend,
                memory.vote,
                snapshot.rule,
            )
        elif snapshot.rule == "vote" and memory is not None and error is None:
            # A model without probabilities: the vote still decides, the model's answer on a tie.
            value, decision = vote_value(self.spec.output, memory.vote) or (value, decision)
        if snapshot.pairwise_model is not None and error is None:
            pair = response_texts(case)
            if pair is not None:
                a, b = self.embedder.embed(list(pair), meter)
                value, decision = by_pairwise_model(
                    snapshot.rule, snapshot.pairwise_model, a - b, probs
                )
        if snapshot.embedding_model is not None and query is not None and error is None:
            value, decision = by_embedding(
                self.spec.output,
                snapshot.rule,
                snapshot.embedding_model,
                query,
                text,
                probs,
                snapshot.threshold,
                value,
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
            checks=fired,
            usage=meter.snapshot(),
            error=error,
        )
        if self.use_cache and not exclude and rationale and verdict.ok:
            self.store.cache_verdict(self.judge_id, snapshot.version, key, verdict)
        return verdict

    def _by_checks(
        self, case: Case, snapshot: MemorySnapshot, fired: list[CheckHit], value: str
    ) -> Verdict:
        """A verdict the validated checks decide: no model call, the checks as its reasons."""
        by_id = {g.id: g for g in snapshot.checks}
        reasons = "; ".join(by_id[hit.guideline_id].text for hit in fired)
        return Verdict(
            judge=self.name,
            value=value,
            rationale=f"Decided by validated checks, without a model call: {reasons}",
            guideline_ids=[hit.guideline_id for hit in fired],
            memory_version=snapshot.version,
            decision="checks",
            checks=fired,
        )
