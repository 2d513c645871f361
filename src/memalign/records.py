"""Records that are stored or sent: feedback, memory items, verdicts and reports (pydantic)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from memalign.patterns import compile_pattern

Value = str | int | float


def utcnow() -> datetime:
    return datetime.now(UTC)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _lone_surrogate(value: Any) -> bool:
    """Whether any text in ``value`` (its strings, and the keys and items of its dicts and
    lists) holds half a surrogate pair. Only strings are looked at, and ASCII ones cost a
    flag test: records are validated on every read from the store."""
    if isinstance(value, str):
        if value.isascii():
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_lone_surrogate(item) for item in value)
    return False


class Case(BaseModel):
    """What a judge looks at. For pairwise judges ``outputs`` holds the two responses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inputs: Any = None
    outputs: Any = None
    expectations: Any = None


class Feedback(BaseModel):
    """One expert feedback item: a case plus a label, an explanation, or both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    inputs: Any = None
    outputs: Any = None
    expectations: Any = None
    label: Value | None = None
    feedback: str | None = None
    annotator: str | None = None
    # The judge's own earlier verdict on this case, when the expert reviewed verdicts.
    verdict: Value | None = None
    created_at: datetime | None = None

    @field_validator("id")
    @classmethod
    def _strip_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("id must not be blank")
        return value

    @field_validator(
        "id", "inputs", "outputs", "expectations", "label", "feedback", "annotator", "verdict"
    )
    @classmethod
    def _unicode(cls, value: Any) -> Any:
        # JSON may escape half of a surrogate pair ("\ud800"): valid JSON, but not text, and a
        # record holding it could be neither hashed nor stored.
        if _lone_surrogate(value):
            raise ValueError("not valid Unicode: an unpaired surrogate escape (\\udXXX)")
        return value

    @field_validator("feedback", "annotator")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value is None or value.strip() else None

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict_value(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value.get("value")
        return value

    @property
    def case(self) -> Case:
        return Case(inputs=self.inputs, outputs=self.outputs, expectations=self.expectations)

    def content_hash(self) -> str:
        """Identity of the content: re-sending an identical record is a no-op."""
        body = self.model_dump(exclude={"id", "created_at"}, mode="json")
        return hashlib.sha256(canonical_json(body).encode()).hexdigest()


GuidelineStatus = Literal["active", "pending", "retired"]
# "check": mined from the experts' words (a term they named), kept because the labelled
# examples bear it out; its text is the check explained in plain words.
GuidelineOrigin = Literal["distilled", "manual", "check"]
CheckField = Literal["outputs", "inputs", "expectations"]


CheckPart = Literal["all", "first_line", "last_line"]


class Place(BaseModel):
    """A field of the case, or one named entry of it: where a check compares against."""

    model_config = ConfigDict(frozen=True)

    field: CheckField = "inputs"
    key: str | None = Field(default=None, min_length=1, max_length=200)


class Predicate(BaseModel):
    """Where a check looks and what it looks for: ``term`` in one ``field`` of the case (or in
    one named entry of it, ``key``: an input such as ``audience_region``), in the whole text or
    in its first or last non-blank line (``part``: a subject line, a footer). The term is a
    literal, matched case-insensitively, or with ``pattern`` an RE2 pattern: both run in time
    linear in the text, so judged text cannot make a check slow. ``present=False`` asks for
    the term's absence.

    With ``within``, only matches that are *not copied* from that place count: "a number in
    the summary that is not in inputs.source_text" (the pattern's matches in both texts are
    compared whole, so "388" is not found in "388.5"). That is how a check catches an
    altered figure or name without knowing which one."""

    model_config = ConfigDict(frozen=True)

    term: str = Field(min_length=1, max_length=200)
    present: bool = True
    field: CheckField = "outputs"
    key: str | None = Field(default=None, min_length=1, max_length=200)
    part: CheckPart = "all"
    pattern: bool = False
    within: Place | None = None

    @field_validator("term")
    @classmethod
    def _blank(cls, term: str) -> str:
        if not term.strip():
            raise ValueError("a check's term must not be blank")
        return term

    @model_validator(mode="before")
    @classmethod
    def _lowercase_literal(cls, data: Any) -> Any:
        # Literal terms are stored lowercased (matching is case-insensitive anyway); a
        # pattern keeps its case: `\S` and `\s` differ.
        if isinstance(data, dict) and not data.get("pattern") and isinstance(data.get("term"), str):
            return {**data, "term": data["term"].lower()}
        return data

    @model_validator(mode="after")
    def _compiles(self) -> Self:
        if self.pattern:
            compile_pattern(self.term)  # ValueError naming what RE2 refused
        return self


# The most clauses one check holds, its own included.
MAX_CLAUSES = 16


class Clause(Predicate):
    """One more way a check fires: a predicate with its own condition (``when``)."""

    when: Predicate | None = None


class Check(Predicate):
    """A declarative test a guideline may carry: when its predicate holds on a case (and the
    optional condition ``when`` holds too), it implies ``label``. Not code: judged text cannot
    trigger anything a check does until the expert-labelled records bear it out.
    ``alternatives``: further clauses, each with its own condition; the check fires where any
    of them does, and is validated as one ("the audience region's disclaimer is missing": one
    clause per region). ``fires``/``hits`` are its validation on the judge's labelled records:
    how many it fires on, and how many of those carry ``label``; ``active`` says whether that
    evidence holds (see ``memalign.checks``). ``proposed``: written by the reflection model
    with its guideline (so a strict forget that rewrites the guideline drops it with the old
    wording)."""

    label: str = Field(min_length=1)
    when: Predicate | None = None
    alternatives: tuple[Clause, ...] = Field(default=(), max_length=MAX_CLAUSES - 1)
    fires: int = Field(default=0, ge=0)
    hits: int = Field(default=0, ge=0)
    active: bool = False
    proposed: bool = False


class CheckHit(BaseModel):
    """A check that fired on a judged case: its guideline, and where the term was found (the
    character span in the field's text; None when it fired because the term is absent). On a
    pairwise judge, ``candidate`` names the response it fired on (A or B) and the span is in
    that response's text. ``clause``: which clause of the check fired (0: its own, 1…: its
    alternatives); ``field`` is that clause's."""

    guideline_id: str
    label: str
    field: CheckField
    span: tuple[int, int] | None = None
    candidate: str | None = None
    clause: int = Field(default=0, ge=0)


class Guideline(BaseModel):
    """A general rule in semantic memory, with the feedback ids it was distilled from."""

    id: str
    text: str
    sources: list[str] = Field(default_factory=list)
    status: GuidelineStatus = "active"
    pinned: bool = False
    origin: GuidelineOrigin = "distilled"
    check: Check | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Example(BaseModel):
    """A concrete case in episodic memory: the record, the expert's view, and whether the
    judge agreed with it when it arrived (None when unknown)."""

    record_id: str
    key_text: str
    case_text: str
    label: Value | None = None
    feedback: str | None = None
    agree: bool | None = None
    judge_value: Value | None = None
    # The judge's label probabilities when it saw this case during alignment, when the model
    # exposes them: the evidence a decision threshold is fitted on.
    judge_probs: dict[str, float] | None = None
    # The validated checks gave ``judge_value``, not the model: no evidence of what the model
    # answers, so no decision rule is scored on it.
    decided_by_checks: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Usage(BaseModel):
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    embed_calls: int = 0
    embedded_texts: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0

    def add(self, other: Usage) -> None:
        self.llm_calls += other.llm_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.embed_calls += other.embed_calls
        self.embedded_texts += other.embedded_texts
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd
        self.seconds += other.seconds


class Verdict(BaseModel):
    judge: str
    value: Value | None
    rationale: str = ""
    guideline_ids: list[str] = Field(default_factory=list)
    example_ids: list[str] = Field(default_factory=list)
    memory_version: int = 0
    probabilities: dict[str, float] | None = None
    # How the value was chosen from probabilities (e.g. a fitted threshold), when it was.
    decision: str | None = None
    # Validated checks that fired on this case (and decided it when ``decision`` is "checks").
    checks: list[CheckHit] = Field(default_factory=list)
    # The similarity-weighted vote of the retrieved examples in [-1, 1] (two labels or a scale:
    # decision.example_vote), kept so decision rules can be compared on the same verdicts.
    vote: float | None = None
    usage: Usage = Field(default_factory=Usage)
    # Set when no valid value could be obtained; ``value`` is then None, never a default label.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class RejectedRecord(BaseModel):
    id: str
    reason: str


class DroppedGuideline(BaseModel):
    """A proposal the distillation guards refused, shown so an engineer can see what the
    reflection model wrote: ``uncited`` rests on no item of its call (neither cited nor
    restating an item's feedback), ``copies_case_text`` is lifted from judged text rather than
    from the experts' words (a possible injection), ``echoes_prompt`` restates the reflection
    prompt's own instructions, ``states_no_rule`` is a bare answer ("Pass"), a single word, or
    the judge's own question reworded."""

    text: str
    reason: Literal["uncited", "copies_case_text", "echoes_prompt", "states_no_rule"]


class AlignmentReport(BaseModel):
    judge: str
    memory_version: int
    records_added: int = 0
    records_updated: int = 0
    # Ids whose stored record had other content and was replaced (with what came from it).
    records_replaced: list[str] = Field(default_factory=list)
    records_unchanged: int = 0
    records_rejected: int = 0
    rejected: list[RejectedRecord] = Field(default_factory=list)
    # What the reflection model wrote, before the guards (no cited item of its call, copied
    # case text, a repeat) and consolidation: "why was nothing learned?" starts here.
    guidelines_proposed: int = 0
    guidelines_dropped: list[DroppedGuideline] = Field(default_factory=list)
    reflection_unreadable: int = 0
    guidelines_added: int = 0
    guidelines_merged: int = 0
    guidelines_removed: int = 0
    guidelines_redistilled: int = 0
    examples_added: int = 0
    examples_removed: int = 0
    disagreements: int = 0
    # Records of the batch the validated checks judged, with no model call (the disagreement
    # pass asks the model only about the others).
    decided_by_checks: int = 0
    new_guidelines: list[Guideline] = Field(default_factory=list)
    # Checks this batch added: mined from its feedback and validated (guidelines of origin
    # "check"), or proposed by reflection and adopted onto a guideline (active or waiting);
    # and the ids of checks this batch refuted (deactivated; the guideline stays).
    checks_added: list[Guideline] = Field(default_factory=list)
    checks_refuted: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)


class ForgetReport(BaseModel):
    judge: str
    memory_version: int
    dry_run: bool = False
    records_removed: list[str] = Field(default_factory=list)
    records_not_found: list[str] = Field(default_factory=list)
    examples_removed: int = 0
    guidelines_removed: list[str] = Field(default_factory=list)
    guidelines_redistilled: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)


class MemoryVersion(BaseModel):
    """One entry of a judge's memory history. Holds counts and ids, never feedback text, so the
    history survives a forget without keeping what was forgotten."""

    version: int
    operation: str
    created_at: datetime
    summary: dict[str, Any] = Field(default_factory=dict)
