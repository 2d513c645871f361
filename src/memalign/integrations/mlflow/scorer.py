"""``MemalignJudge``: an MLflow judge that scores with a memalign judge's memory.

It is what ``judge.align(traces, optimizer=MemalignOptimizer(...))`` returns. Called by MLflow
(directly, or as a scorer in ``mlflow.genai.evaluate``) it judges with memalign — the guidelines,
the decision rule fitted on the experts' labels and the k most similar examples — and returns an
MLflow ``Feedback`` naming the guideline and example ids it used.

Registering: MLflow deserializes only its own judge kinds and ``@scorer`` functions (their source
is executed again on load). A memalign judge therefore serializes as a two-line ``@scorer`` body
that reopens its memory by store and judge name, so ``register()`` and ``get_scorer()`` work
wherever MLflow allows custom scorers (``MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS=true`` outside
Databricks, MLflow's own rule for any custom code), and :meth:`MemalignJudge.from_scorer` turns
the reloaded scorer back into a full judge (``align``, ``unalign``).
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict
from typing import Any, cast

import mlflow
from mlflow.entities import Feedback, Trace
from mlflow.genai.judges.base import AlignmentOptimizer, Judge, JudgeField
from mlflow.genai.scorers.base import _SERIALIZATION_VERSION, Scorer, ScorerKind, SerializedScorer
from mlflow.genai.utils.trace_utils import (
    resolve_expectations_from_trace,
    resolve_inputs_from_trace,
    resolve_outputs_from_trace,
)
from pydantic import PrivateAttr

from memalign.errors import InputError, SpecError
from memalign.integrations.mlflow.binding import Binding, opened
from memalign.integrations.mlflow.traces import stored_ids_of
from memalign.integrations.mlflow.verdicts import to_feedback
from memalign.judge import Judge as MemalignCore
from memalign.judge_spec import CASE_FIELDS
from memalign.records import AlignmentReport, ForgetReport

FUNCTION_NAME = "memalign_judge"
SIGNATURE = "(inputs=None, outputs=None, expectations=None, trace=None)"
_BINDING_PREFIX = "BINDING = "
_FIELD_DESCRIPTIONS = {
    "inputs": "The inputs of the case being judged (a trace's request).",
    "outputs": "The outputs being judged (a trace's response).",
    "expectations": "What the outputs were expected to be (ground truth, if any).",
}


class MemalignJudge(Judge):
    """An MLflow judge backed by a memalign judge (see the module docstring)."""

    _binding: Binding = PrivateAttr()
    _last_forget: ForgetReport | None = PrivateAttr(default=None)
    _last_report: AlignmentReport | None = PrivateAttr(default=None)

    def __init__(
        self,
        binding: Binding,
        *,
        name: str | None = None,
        description: str | None = None,
        aggregations: list[Any] | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(
            name=name or binding.judge,
            description=description,
            aggregations=aggregations,
            timeout=timeout,
        )
        self._binding = binding

    # -- what it is -------------------------------------------------------------------------

    @property
    def binding(self) -> Binding:
        return self._binding

    @property
    def memalign(self) -> MemalignCore:
        """The memalign judge (opened once per process and binding)."""
        return opened(self._binding, self.name)

    @property
    def instructions(self) -> str:
        """The criterion followed by the active guidelines, as MLflow's aligned judges show it."""
        judge = self.memalign
        text = judge.spec.instructions
        active = [g for g in judge.guidelines() if g.status == "active"]
        if active:
            text += f"\n\nDistilled Guidelines ({len(active)}):\n"
            text += "".join(f"  - [{g.id}] {g.text}\n" for g in active)
        return text

    @property
    def model(self) -> str:
        return self._binding.model_name(self.memalign.spec.model)

    @property
    def feedback_value_type(self) -> Any:
        return self._binding.values.python_type()

    @property
    def kind(self) -> ScorerKind:
        # It serializes as custom code, so MLflow must apply its custom-scorer rules to it.
        return ScorerKind.DECORATOR

    def get_input_fields(self) -> list[JudgeField]:
        names = self.memalign.spec.placeholders or CASE_FIELDS
        return [JudgeField(name=n, description=_FIELD_DESCRIPTIONS[n]) for n in names]

    # -- judging ----------------------------------------------------------------------------

    def __call__(
        self,
        *,
        inputs: Any = None,
        outputs: Any = None,
        expectations: dict[str, Any] | None = None,
        trace: Trace | None = None,
        session: list[Trace] | None = None,
    ) -> Feedback:
        if session is not None:
            raise SpecError("memalign judges single turns; session judging is not supported")
        if trace is not None:
            inputs = resolve_inputs_from_trace(inputs, trace)
            outputs = resolve_outputs_from_trace(outputs, trace)
            expectations = resolve_expectations_from_trace(expectations, trace)
        judge = self.memalign
        verdict = judge.judge(inputs=inputs, outputs=outputs, expectations=expectations)
        return to_feedback(
            self.name, verdict, self._binding.values, self._binding.model_name(judge.spec.model)
        )

    # -- changing memory --------------------------------------------------------------------

    def align(self, traces: list[Trace], optimizer: AlignmentOptimizer | None = None) -> Judge:
        """Align on more traces; without an optimizer, memalign again in the same store."""
        if optimizer is None:
            from memalign.integrations.mlflow.optimizer import MemalignOptimizer

            optimizer = MemalignOptimizer.for_binding(self._binding)
        return optimizer.align(self, traces)

    def unalign(self, traces: list[Trace]) -> MemalignJudge:
        """Forget every record these traces gave, with memalign's cascade: their examples go,
        guidelines resting only on them go, and guidelines that also rest on other records are
        distilled again from those (MLflow's MemAlign keeps such a guideline as it was, text of
        the removed feedback included). Unlike MLflow's, which returns a new judge, this forgets
        in the shared store and returns ``self``: every judge object over that memory forgets
        too. :attr:`last_forget` holds the report."""
        judge = self.memalign
        stored = judge.store.record_hashes(judge.judge_id)
        ids = stored_ids_of(stored, [t.info.trace_id for t in traces])
        self._last_forget = judge.forget(ids) if ids else None
        return self

    @property
    def last_forget(self) -> ForgetReport | None:
        return self._last_forget

    @property
    def last_report(self) -> AlignmentReport | None:
        """What the alignment that returned this judge did (None for a reloaded judge)."""
        return self._last_report

    # -- MLflow registry --------------------------------------------------------------------

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        payload = {"name": self.name, "binding": self._binding.to_dict()}
        source = "\n".join(
            [
                f"{_BINDING_PREFIX}{json.dumps(payload, sort_keys=True)!r}",
                "from memalign.integrations.mlflow.scorer import score_registered",
                "return score_registered(BINDING, inputs=inputs, outputs=outputs, "
                "expectations=expectations, trace=trace)",
            ]
        )
        serialized = SerializedScorer(
            name=self.name,
            description=self.description,
            aggregations=cast(list[str] | None, self.aggregations),
            is_session_level_scorer=False,
            # MLflow gives a reloaded scorer the serialized timeout, and 0 (none) when absent.
            timeout=self.timeout,
            mlflow_version=mlflow.__version__,
            serialization_version=_SERIALIZATION_VERSION,
            call_source=source,
            call_signature=SIGNATURE,
            original_func_name=FUNCTION_NAME,
        )
        return asdict(serialized)

    def _check_has_source_code(self) -> None:
        # MLflow >= 3.18 refuses to register a custom scorer whose function body it cannot
        # read, and reads it from the decorated function, which this judge does not have. Its
        # source is the call model_dump writes from the binding, never empty.
        return None

    def _create_copy(self) -> MemalignJudge:
        # The default deep-copies pydantic state; all a copy needs is the binding.
        return MemalignJudge(
            self._binding,
            name=self.name,
            description=self.description,
            aggregations=self.aggregations,
            timeout=self.timeout,
        )

    @classmethod
    def from_scorer(cls, scorer: Scorer) -> MemalignJudge:
        """The full judge behind a scorer MLflow reloaded (``mlflow.genai.scorers.get_scorer``)."""
        if isinstance(scorer, MemalignJudge):
            return scorer
        name, binding = _read_source(str(scorer.model_dump().get("call_source") or ""))
        return cls(binding, name=name, description=scorer.description, timeout=scorer.timeout)


def _read_source(source: str) -> tuple[str, Binding]:
    for line in source.splitlines():
        if line.startswith(_BINDING_PREFIX):
            payload = json.loads(ast.literal_eval(line[len(_BINDING_PREFIX) :]))
            return str(payload["name"]), Binding.from_dict(payload["binding"])
    raise InputError("this scorer was not registered by memalign (no memalign binding in it)")


def score_registered(payload: str, **case: Any) -> Feedback:
    """What a registered memalign judge runs when MLflow calls it after reloading."""
    data = json.loads(payload)
    judge = MemalignJudge(Binding.from_dict(data["binding"]), name=str(data["name"]))
    return judge(**case)


__all__ = ["MemalignJudge", "score_registered"]
