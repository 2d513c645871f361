"""What a judge is: a named criterion, its instructions and the type of value it returns.

Specs are frozen dataclasses: they are configuration, compared by value and stored as JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from memalign.errors import LabelError, SpecError

Value = str | int | float

CASE_FIELDS = ("inputs", "outputs", "expectations")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def _norm(text: str) -> str:
    return " ".join(text.strip().strip("\"'`.").split()).casefold()


@dataclass(frozen=True)
class Labels:
    """Categorical labels (binary is two labels). The user's spelling is kept as given."""

    labels: tuple[str, ...]
    kind: Literal["labels"] = "labels"

    def __post_init__(self) -> None:
        if len(self.labels) < 2:
            raise SpecError("a label output needs at least two labels")
        normed = [_norm(label) for label in self.labels]
        if any(not n for n in normed):
            raise SpecError("labels must not be empty")
        if len(set(normed)) != len(normed):
            raise SpecError(f"labels must differ ignoring case: {list(self.labels)}")

    @property
    def choices(self) -> tuple[str, ...]:
        return self.labels

    def coerce(self, value: object) -> str:
        if isinstance(value, bool) and {_norm(x) for x in self.labels} == {"yes", "no"}:
            value = "yes" if value else "no"
        if isinstance(value, str | int) and not isinstance(value, bool):
            wanted = _norm(str(value))
            for label in self.labels:
                if _norm(label) == wanted:
                    return label
        raise LabelError(f"{value!r} is not one of {list(self.labels)}", field="label")

    def render(self) -> str:
        if tuple(_norm(x) for x in self.labels) == ("yes", "no"):
            return "binary"
        return "labels:" + ",".join(self.labels)

    def describe(self) -> str:
        return "one of: " + ", ".join(self.labels)


@dataclass(frozen=True)
class Scale:
    """An integer scale with inclusive bounds, e.g. 1-5."""

    low: int = 1
    high: int = 5
    kind: Literal["scale"] = "scale"

    def __post_init__(self) -> None:
        if self.high <= self.low:
            raise SpecError(f"scale bounds must rise: {self.low}-{self.high}")
        if self.high - self.low > 100:
            raise SpecError("an integer scale may have at most 101 points")

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(i) for i in range(self.low, self.high + 1))

    def coerce(self, value: object) -> int:
        number = _as_number(value)
        if number is None or not float(number).is_integer():
            raise LabelError(f"{value!r} is not an integer", field="label")
        if not self.low <= number <= self.high:
            raise LabelError(f"{value!r} is outside {self.low}-{self.high}", field="label")
        return int(number)

    def render(self) -> str:
        return f"scale:{self.low}-{self.high}"

    def describe(self) -> str:
        return f"an integer from {self.low} to {self.high}"


@dataclass(frozen=True)
class FloatScore:
    """A real-valued score, optionally bounded."""

    low: float | None = None
    high: float | None = None
    kind: Literal["float"] = "float"

    @property
    def choices(self) -> tuple[str, ...]:
        return ()

    def coerce(self, value: object) -> float:
        number = _as_number(value)
        if number is None or not math.isfinite(number):
            raise LabelError(f"{value!r} is not a finite number", field="label")
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise LabelError(f"{value!r} is outside [{self.low}, {self.high}]", field="label")
        return float(number)

    def render(self) -> str:
        if self.low is None and self.high is None:
            return "float"
        return f"float:{self.low}-{self.high}"

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "a number"
        return f"a number from {self.low} to {self.high}"


@dataclass(frozen=True)
class Pairwise:
    """Which of two responses is better: A, B or tie."""

    allow_tie: bool = True
    kind: Literal["pairwise"] = "pairwise"

    @property
    def choices(self) -> tuple[str, ...]:
        return ("A", "B", "tie") if self.allow_tie else ("A", "B")

    def coerce(self, value: object) -> str:
        if isinstance(value, str):
            wanted = _norm(value)
            aliases = {
                "a": "A",
                "response a": "A",
                "1": "A",
                "b": "B",
                "response b": "B",
                "2": "B",
                "tie": "tie",
                "equal": "tie",
                "draw": "tie",
            }
            got = aliases.get(wanted)
            if got is not None and got in self.choices:
                return got
        raise LabelError(f"{value!r} is not one of {list(self.choices)}", field="label")

    def render(self) -> str:
        return "pairwise" if self.allow_tie else "pairwise:no-tie"

    def describe(self) -> str:
        return "A if response A is better, B if response B is better" + (
            ", tie if neither is" if self.allow_tie else ""
        )


OutputType = Labels | Scale | FloatScore | Pairwise


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_output(spec: str) -> OutputType:
    """Parse ``binary``, ``labels:Pass,Fail``, ``scale:1-5``, ``float[:lo-hi]`` or ``pairwise``."""
    text = spec.strip()
    head, _, rest = text.partition(":")
    head = head.strip().lower()
    if head == "binary" and not rest:
        return Labels(("yes", "no"))
    if head == "labels":
        return Labels(tuple(part.strip() for part in rest.split(",") if part.strip()))
    if head in ("scale", "float"):
        if not rest:
            return Scale() if head == "scale" else FloatScore()
        match = re.fullmatch(r"\s*(-?[\d.]+)\s*-\s*(-?[\d.]+)\s*", rest)
        if not match:
            raise SpecError(f"cannot read bounds from {spec!r} (want e.g. {head}:1-5)")
        low, high = match.groups()
        try:
            if head == "scale":
                return Scale(int(low), int(high))
            return FloatScore(float(low), float(high))
        except ValueError as exc:
            raise SpecError(f"cannot read bounds from {spec!r}: {exc}") from None
    if head == "pairwise":
        if rest.strip().lower() in ("", "tie"):
            return Pairwise()
        if rest.strip().lower() == "no-tie":
            return Pairwise(allow_tie=False)
    raise SpecError(
        f"unknown output spec {spec!r}; use binary, labels:A,B, scale:1-5, float or pairwise"
    )


def output_from_dict(data: Mapping[str, Any]) -> OutputType:
    kind = data.get("kind")
    if kind == "labels":
        return Labels(tuple(data["labels"]))
    if kind == "scale":
        return Scale(int(data["low"]), int(data["high"]))
    if kind == "float":
        return FloatScore(data.get("low"), data.get("high"))
    if kind == "pairwise":
        return Pairwise(bool(data.get("allow_tie", True)))
    raise SpecError(f"unknown output kind {kind!r}")


ExampleKey = Literal["inputs", "outputs", "inputs+outputs"]


# What decides a verdict the checks leave (MemoryConfig.decision, design/decision.md).
Decision = Literal["auto", "llm", "blend", "embedding", "combined", "vote"]
DECISIONS: tuple[Decision, ...] = ("auto", "llm", "blend", "embedding", "combined", "vote")


def decision_named(value: str) -> Decision | None:
    """``value`` as a decision rule; None when it names none."""
    return next((known for known in DECISIONS if known == value), None)


# Each rule in plain words, for people choosing one (the review page, the CLI).
DECISION_WORDS: dict[Decision, str] = {
    "auto": "chosen per judge from memory, by cross-validation on the labelled examples",
    "llm": "the model's answer (for two labels, its probability against a threshold fitted "
    "on the feedback)",
    "blend": "the model's probability weighed with the retrieved examples' labels",
    "embedding": "a linear model over the stored examples' embeddings",
    "combined": "the model's log-odds plus the embedding model's",
    "vote": "the label vote of the most similar stored examples",
}


@dataclass(frozen=True)
class MemoryConfig:
    """How a judge uses and grows its memory. Defaults follow the published system (k=5)."""

    k: int = 5
    example_key: ExampleKey = "inputs+outputs"
    guideline_budget: int = 30
    detect_disagreements: bool = True
    prefer_disagreements: bool = True
    require_approval: bool = False
    strict_forget: bool = True
    use_guidelines: bool = True
    use_examples: bool = True
    # Cosine similarity of guideline embeddings: at or above ``merge_threshold`` two guidelines
    # are the same rule; between the two thresholds the reflection model decides.
    merge_threshold: float = 0.9
    consolidate_threshold: float = 0.75
    # Tokens of feedback per reflection call. Capable models distil 50 records in <= 3 calls at
    # the default; small local models write better guidelines from smaller batches (~1200).
    distill_token_budget: int = 6000
    # Whether reflection reads the case of a record the expert explained, cut to 600 characters
    # a field, or only its label, the expert's words and the judge's answer (a third of the
    # tokens on policy_dev). A record with a bare label always shows its case (nothing else to
    # learn from), and so does every record when reflection proposes checks.
    reflection_cases: bool = False
    # The decision threshold is fitted on the probabilities each example was judged with when
    # it arrived (the disagreement pass: no extra call). ``calibrate=True`` adds a second judge
    # pass after each alignment, re-scoring the batch under the memory it just built (each
    # record without its own example): closer to what the judge will produce, at one more
    # judge call per labelled record. Only for binary labels on models with probabilities.
    calibrate: bool = False
    # How a verdict the checks leave is decided. "llm": the model's probabilities (for two
    # labels, a threshold on P(first label) fitted on the feedback seen); "blend": that
    # probability combined with a similarity-weighted vote of the retrieved examples;
    # "embedding": a linear model over the stored example embeddings decides (labels or a
    # scale; for pairwise, over the responses' embedding difference; the model still gives the
    # rationale); "combined" (two labels, pairwise): the model's log-odds, centred on its fitted
    # threshold, plus the embedding model's; "vote" (two labels): the similarity-weighted label
    # vote of the retrieved examples (the model's rule on a tie). "auto": "combined" where it
    # applies (else "llm"), unless cross-validation on memory shows "embedding" or "vote"
    # clearly better (memalign.judging.selection, design/decision.md).
    decision: Decision = "auto"
    # Checks (memalign.checks): mine them from the feedback's words and validate them on the
    # labelled records at each alignment; a check is active while the one-sided 95% lower bound
    # of its precision reaches ``check_min_bound`` (0.75: about 9 of 9 records agreeing). When
    # ``checks_decide``, validated checks that fire and agree decide a verdict with no model
    # call. Two or more labels only. With ``propose_checks`` the reflection call also proposes
    # a pattern with each guideline (no extra call), validated like a mined check before use.
    # Off by default: on the local 1.5B the request cut the guidelines it wrote for code review
    # from 9 to 1 and no proposal held (docs/benchmarks/memory-signals); for a reflection model
    # that writes sound patterns, turn it on.
    checks: bool = True
    propose_checks: bool = False
    checks_decide: bool = True
    check_min_bound: float = 0.75
    # Characters of each retrieved example's case shown to the judge (its label and feedback are
    # always shown in full). None shows it all; small local models pay ~1 s per 60 tokens.
    example_chars: int | None = None

    def __post_init__(self) -> None:
        if self.example_chars is not None and self.example_chars < 1:
            raise SpecError("example_chars must be >= 1")
        if self.k < 0:
            raise SpecError("k must be >= 0")
        if not 0 < self.check_min_bound < 1:
            raise SpecError("check_min_bound must be between 0 and 1")
        if self.guideline_budget < 1:
            raise SpecError("guideline_budget must be >= 1")
        if not 0 < self.consolidate_threshold <= self.merge_threshold <= 1:
            raise SpecError("need 0 < consolidate_threshold <= merge_threshold <= 1")


@dataclass(frozen=True)
class JudgeSpec:
    """A named criterion.

    ``instructions`` may reference case fields as ``{{ inputs }}``, ``{{ outputs }}`` and
    ``{{ expectations }}``; the referenced fields are the ones shown to the model (all present
    fields when none is referenced). The case itself is always placed after memory in the prompt so
    the instructions stay a reusable prefix.
    """

    name: str
    instructions: str
    output: OutputType
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    model: str | None = None
    reflection_model: str | None = None
    embedder: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise SpecError(
                f"judge name {self.name!r} must be 1-128 letters, digits, '_', '-' or '.'"
            )
        if not self.instructions.strip():
            raise SpecError("instructions must not be empty")
        unknown = set(self.placeholders) - set(CASE_FIELDS)
        if unknown:
            raise SpecError(
                f"unknown placeholder(s) {sorted(unknown)} in instructions; "
                f"allowed: {list(CASE_FIELDS)}"
            )

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_PLACEHOLDER.findall(self.instructions)))

    def rendered_instructions(self) -> str:
        """Instructions with each placeholder pointing at the delimited section of the case."""
        return _PLACEHOLDER.sub(lambda m: f"<{m.group(1)}>", self.instructions)

    def with_memory(self, **changes: Any) -> JudgeSpec:
        return replace(self, memory=replace(self.memory, **changes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeSpec:
        memory = MemoryConfig(**dict(data.get("memory") or {}))
        return cls(
            name=data["name"],
            instructions=data["instructions"],
            output=output_from_dict(data["output"]),
            memory=memory,
            model=data.get("model"),
            reflection_model=data.get("reflection_model"),
            embedder=data.get("embedder"),
        )
