"""Merging new guidelines into semantic memory.

Near-duplicates (cosine ≥ ``merge_threshold``) merge by rule; pairs in the grey zone
(≥ ``consolidate_threshold``) go to the reflection model in one batched call that decides
same / conflict / different. Newer feedback wins conflicts; provenance is always the union.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from memalign import prompts
from memalign.accounting import Meter
from memalign.alignment.distill import Candidate
from memalign.embedders import EmbeddingClient
from memalign.errors import ParseError
from memalign.judge_spec import JudgeSpec
from memalign.memory import Vector, semantic
from memalign.prompts.answers import parse_json_object
from memalign.providers import CompletionRequest, Message, ModelClient
from memalign.records import Guideline, Predicate, utcnow


@dataclass
class Consolidation:
    upserts: dict[str, tuple[Guideline, Vector | None]] = field(default_factory=dict)
    added: list[Guideline] = field(default_factory=list)
    merged: int = 0
    retired: int = 0
    # Checks proposed with the candidates, by the guideline each went to (the first proposal
    # per guideline): the caller decides which may be attached, and validates them first.
    proposed: dict[str, Predicate] = field(default_factory=dict)

    def propose(self, guideline: Guideline, candidate: Candidate) -> None:
        if candidate.check is not None:
            self.proposed.setdefault(guideline.id, candidate.check)


def _merge_into(target: Guideline, text: str, sources: Sequence[str]) -> Guideline:
    union = list(dict.fromkeys([*target.sources, *sources]))
    # A pinned guideline's wording belongs to a human: merge provenance, keep the words.
    new_text = target.text if target.pinned or target.origin == "manual" else text
    return target.model_copy(update={"text": new_text, "sources": union, "updated_at": utcnow()})


def _decide(
    client: ModelClient, spec: JudgeSpec, pairs: Sequence[tuple[Guideline, Candidate]], meter: Meter
) -> dict[int, tuple[str, str]]:
    rendered = "\n\n".join(
        f"Pair {i}:\nOLD: {old.text}\nNEW: {new.text}" for i, (old, new) in enumerate(pairs, 1)
    )
    completion = client.complete(
        CompletionRequest(
            messages=(
                Message("user", prompts.render("consolidate", name=spec.name, pairs=rendered)),
            ),
            max_tokens=600,
            purpose="consolidate",
        ),
        meter,
    )
    try:
        decisions = parse_json_object(completion.text).get("decisions", [])
    except ParseError:
        return {}
    out: dict[int, tuple[str, str]] = {}
    for item in decisions if isinstance(decisions, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            number = int(item.get("pair", 0))
        except (TypeError, ValueError):
            continue
        decision = str(item.get("decision", "")).strip().lower()
        if 1 <= number <= len(pairs) and decision in ("same", "conflict", "different"):
            out[number] = (decision, str(item.get("text") or "").strip())
    return out


def consolidate(
    candidates: Sequence[Candidate],
    existing: Sequence[tuple[Guideline, Vector | None]],
    *,
    spec: JudgeSpec,
    reflection: ModelClient,
    embedder: EmbeddingClient,
    meter: Meter,
) -> Consolidation:
    result = Consolidation()
    if not candidates:
        return result
    vectors = embedder.embed([c.text for c in candidates], meter)
    status = "pending" if spec.memory.require_approval else "active"
    pool: dict[str, tuple[Guideline, Vector | None]] = {
        g.id: (g, v) for g, v in existing if g.status != "retired"
    }
    grey: list[tuple[Guideline, Candidate, Vector]] = []
    config = spec.memory

    def add(candidate: Candidate, vector: Vector, state: str = status) -> None:
        guideline = Guideline(
            id=semantic.new_guideline_id(),
            text=candidate.text,
            sources=list(candidate.sources),
            status="pending" if state == "pending" else "active",
        )
        pool[guideline.id] = (guideline, vector)
        result.upserts[guideline.id] = (guideline, vector)
        result.added.append(guideline)
        result.propose(guideline, candidate)

    for candidate, vector in zip(candidates, vectors, strict=True):
        best, score = semantic.most_similar(vector, list(pool.values()))
        if best is not None and score >= config.merge_threshold:
            merged = _merge_into(best, candidate.text, candidate.sources)
            keep_vector = pool[best.id][1] if merged.text == best.text else vector
            pool[best.id] = result.upserts[best.id] = (merged, keep_vector)
            result.merged += 1
            result.propose(merged, candidate)
        elif best is not None and score >= config.consolidate_threshold:
            grey.append((best, candidate, vector))
        else:
            add(candidate, vector)

    if not grey:
        return result
    decisions = _decide(reflection, spec, [(old, new) for old, new, _ in grey], meter)
    for number, (old, candidate, vector) in enumerate(grey, 1):
        decision, text = decisions.get(number, ("different", ""))
        current = pool[old.id][0]
        if decision == "same":
            merged = _merge_into(current, text or candidate.text, candidate.sources)
            keep_vector = pool[old.id][1] if merged.text == current.text else None
            if keep_vector is None:
                keep_vector = embedder.embed([merged.text], meter)[0]
            pool[old.id] = result.upserts[old.id] = (merged, keep_vector)
            result.merged += 1
            result.propose(merged, candidate)
        elif decision == "conflict" and not (current.pinned or current.origin == "manual"):
            retired = current.model_copy(update={"status": "retired", "updated_at": utcnow()})
            pool[old.id] = result.upserts[old.id] = (retired, pool[old.id][1])
            result.retired += 1
            add(candidate, vector)
        elif decision == "conflict":
            # A human-owned rule is contradicted: queue the new one for approval instead.
            add(candidate, vector, "pending")
        else:
            add(candidate, vector)
    return result
