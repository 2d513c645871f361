"""Working memory: what the judge reads for one case — the criterion, the guidelines (all, or
the most relevant within budget), the k most similar examples, and the case — laid out so that
the parts shared by every case come first and can be reused as a cached prompt prefix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memalign import prompts
from memalign.judge_spec import JudgeSpec
from memalign.judging.decision import Blend, Threshold, example_vote
from memalign.judging.embedding_model import EmbeddingModel
from memalign.judging.pairwise_model import PairwiseModel
from memalign.judging.selection import DecisionChoice
from memalign.judging.verdict import answer_format
from memalign.memory import Vector, semantic
from memalign.memory.episodic import EpisodicIndex
from memalign.prompts.rendering import new_boundary, render_case, render_examples, render_guidelines
from memalign.providers import Message
from memalign.records import Case, Example, Guideline

# The case under judgement gets a fresh boundary per call. Retrieved examples (also text that
# was judged) get one per process: as unguessable, and stable so that cases retrieving the same
# examples share the examples block as a reusable prompt prefix.
EXAMPLES_BOUNDARY = new_boundary()


@dataclass(frozen=True)
class MemorySnapshot:
    """Memory as of one version, loaded once and shared by every judge call at that version."""

    version: int
    guidelines: list[tuple[Guideline, Vector | None]]
    episodic: EpisodicIndex | None
    example_count: int
    threshold: Threshold | None = None
    blend: Blend | None = None
    # Active guidelines whose check the labelled records bear out (memalign.checks).
    checks: tuple[Guideline, ...] = ()
    # Fitted when the judge decides by (or with) its example embeddings.
    embedding_model: EmbeddingModel | None = None
    # The rule in force ("auto" resolved to what memory chose) and, under "auto", the choice.
    rule: str = "llm"
    choice: DecisionChoice | None = None
    # Fitted when a pairwise judge decides by (or with) its responses' embeddings.
    pairwise_model: PairwiseModel | None = None


@dataclass(frozen=True)
class WorkingMemory:
    guidelines: list[Guideline]
    examples: list[Example]
    messages: tuple[Message, ...]
    # Similarity-weighted label vote of the retrieved examples (binary judges only).
    vote: float | None = None


def wants_examples(spec: JudgeSpec, snapshot: MemorySnapshot) -> bool:
    config = spec.memory
    return (
        config.use_examples
        and config.k > 0
        and snapshot.episodic is not None
        and snapshot.example_count > 0
    )


def needs_query(spec: JudgeSpec, snapshot: MemorySnapshot) -> bool:
    """Whether the case must be embedded: to retrieve examples or rank guidelines."""
    config = spec.memory
    # Mined checks act through the decision (they may decide without a call); their text, a
    # term and its figures, is not a rule the model should read.
    pool = (
        [(g, v) for g, v in semantic.active(snapshot.guidelines) if g.origin != "check"]
        if config.use_guidelines
        else []
    )
    return wants_examples(spec, snapshot) or len(pool) > config.guideline_budget


def retrieve(
    spec: JudgeSpec, query: Vector, snapshot: MemorySnapshot, exclude: Sequence[str] = ()
) -> list[tuple[Example, float]]:
    """Top-k examples with their similarity, presented in memory order (not by score):
    cases that retrieve the same examples then share the whole examples block as a
    reusable prompt prefix."""
    config = spec.memory
    if snapshot.episodic is None:
        return []
    hits = snapshot.episodic.retrieve(
        query, config.k, prefer_disagreements=config.prefer_disagreements, exclude=exclude
    )
    return sorted(hits, key=lambda hit: hit[0].record_id)


def build_working_memory(
    spec: JudgeSpec,
    case: Case,
    snapshot: MemorySnapshot,
    query: Vector | None,
    exclude: Sequence[str] = (),
    hits: list[tuple[Example, float]] | None = None,
) -> WorkingMemory:
    """``hits``: the case's examples when the caller already retrieved them (a batch orders its
    cases by what they retrieve), so retrieval runs once per case."""
    config = spec.memory
    # Mined checks act through the decision (they may decide without a call); their text, a
    # term and its figures, is not a rule the model should read.
    pool = (
        [(g, v) for g, v in semantic.active(snapshot.guidelines) if g.origin != "check"]
        if config.use_guidelines
        else []
    )
    guidelines = semantic.select_for_case(pool, query, config.guideline_budget)
    if hits is None:
        hits = []
        if wants_examples(spec, snapshot) and query is not None:
            hits = retrieve(spec, query, snapshot, exclude)
    examples = [example for example, _ in hits]
    guideline_text = (
        prompts.render("judge_guidelines", items=render_guidelines(guidelines))
        if guidelines
        else ""
    )
    system = prompts.render(
        "judge_system",
        name=spec.name,
        instructions=spec.rendered_instructions(),
        answer=answer_format(spec.output),
        guidelines=guideline_text,
    )
    user = ""
    if examples:
        items = render_examples(examples, spec.memory.example_chars, EXAMPLES_BOUNDARY)
        user += prompts.render("judge_examples", items=items, boundary=EXAMPLES_BOUNDARY) + "\n"
    boundary = new_boundary(user, render_case(case, spec))
    user += prompts.render(
        "judge_case", case=render_case(case, spec, boundary=boundary), boundary=boundary
    )
    messages = (Message("system", system), Message("user", user))
    return WorkingMemory(guidelines, examples, messages, example_vote(spec.output, hits))
