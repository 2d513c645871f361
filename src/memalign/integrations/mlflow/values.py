"""MLflow's ``feedback_value_type`` ↔ memalign's output types, and values both ways.

MLflow types a judge's value with a Python type (``bool``, ``int``, ``float``, ``str``,
``Literal[...]``, ``T | None``); memalign with an output type that knows its choices. The map:
``bool`` → labels yes/no (returned to MLflow as ``bool`` again), ``Literal["Pass", "Fail"]`` →
those labels with their case, ``Literal[1, …, 5]`` (consecutive integers) and ``int`` → an
integer scale (``int`` has no bounds in MLflow, so 1-5 unless the optimizer is given another
output type), ``float`` → a real score. Pairwise judges have no MLflow type: pass
``output=Pairwise()`` to the optimizer and the value is ``"A"``, ``"B"`` or ``"tie"``.
"""

from __future__ import annotations

import types
from dataclasses import asdict, dataclass
from typing import Any, Literal, Union, get_args, get_origin

from memalign.errors import SpecError
from memalign.judge_spec import FloatScore, Labels, OutputType, Scale, output_from_dict

ValueKind = Literal["bool", "native"]
_BINARY = ("yes", "no")


@dataclass(frozen=True)
class ValueMap:
    """A memalign output type and how its values are spelled on the MLflow side."""

    output: OutputType
    kind: ValueKind = "native"

    def to_memalign(self, value: object) -> Any:
        """An MLflow value (an expert's assessment) as a label of the output type; raises
        :class:`memalign.errors.LabelError` when it does not fit."""
        return self.output.coerce(value)

    def to_mlflow(self, value: str | int | float | None) -> Any:
        if value is None:
            return None
        if self.kind == "bool":
            # The labels may be spelled "Yes"/"No" (output=Labels(("Yes", "No"))).
            return str(value).casefold() == _BINARY[0]
        return value

    def python_type(self) -> Any:
        """The ``feedback_value_type`` an MLflow caller sees."""
        output = self.output
        if self.kind == "bool":
            return bool
        if isinstance(output, Scale):
            return int
        if isinstance(output, FloatScore):
            return float
        # Subscripting Literal with a runtime tuple is how a Literal of computed values is made.
        return Literal.__getitem__(tuple(output.choices))

    def to_dict(self) -> dict[str, Any]:
        return {"output": asdict(self.output), "kind": self.kind}


def value_map(feedback_value_type: Any, output: OutputType | None = None) -> ValueMap:
    """The map for an MLflow judge; ``output`` overrides what the type would give."""
    kind: ValueKind = "native"
    inner = _strip_optional(feedback_value_type)
    if inner is bool:
        kind = "bool"
    if output is not None:
        if kind == "bool" and not _is_binary(output):
            kind = "native"
        return ValueMap(output, kind)
    if inner is bool:
        return ValueMap(Labels(_BINARY), "bool")
    if inner is int:
        return ValueMap(Scale(1, 5))
    if inner is float:
        return ValueMap(FloatScore())
    if get_origin(inner) is Literal:
        choices = get_args(inner)
        if all(isinstance(c, int) and not isinstance(c, bool) for c in choices):
            ints = sorted(int(c) for c in choices)
            if ints == list(range(ints[0], ints[-1] + 1)) and len(ints) >= 2:
                return ValueMap(Scale(ints[0], ints[-1]))
        if all(isinstance(c, str) for c in choices):
            return ValueMap(Labels(tuple(str(c) for c in choices)))
        raise SpecError(
            f"cannot map feedback_value_type {feedback_value_type!r}: a Literal of strings or of "
            "consecutive integers is supported; pass output= to the optimizer for another"
        )
    raise SpecError(
        f"cannot map feedback_value_type {feedback_value_type!r} onto a memalign output type "
        "(supported: bool, int, float, Literal[...]); free text has no labels to align on, so "
        "pass output=Labels(...), Scale(...), FloatScore() or Pairwise() to the optimizer"
    )


def value_map_from_dict(data: dict[str, Any]) -> ValueMap:
    kind = data.get("kind", "native")
    if kind not in ("bool", "native"):
        raise SpecError(f"unknown value kind {kind!r}")
    return ValueMap(output_from_dict(data["output"]), kind)


def _strip_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _is_binary(output: OutputType) -> bool:
    return isinstance(output, Labels) and tuple(x.casefold() for x in output.labels) == _BINARY
