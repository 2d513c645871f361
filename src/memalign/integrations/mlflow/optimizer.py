"""``MemalignOptimizer``: memalign as an MLflow alignment optimizer.

``judge.align(traces, optimizer=MemalignOptimizer(store=..., model=...))`` reads the experts'
HUMAN assessments on the traces (:mod:`.traces`), aligns a memalign judge of the same name in the
store on them — incrementally: a trace whose assessments did not change costs nothing, an edited
one replaces what it gave, one whose assessments were all deleted is forgotten — and returns a
:class:`MemalignJudge` that scores with that memory.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlflow.entities import Trace
from mlflow.genai.judges.base import AlignmentOptimizer, Judge

from memalign.config import Settings
from memalign.errors import InputError, NotFoundError, SpecError, StoreError
from memalign.integrations.mlflow.binding import Binding, opened, store_location
from memalign.integrations.mlflow.scorer import MemalignJudge
from memalign.integrations.mlflow.traces import records_from_traces, retracted
from memalign.integrations.mlflow.values import ValueMap, value_map
from memalign.judge import Judge as MemalignCore
from memalign.judge_spec import CASE_FIELDS, JudgeSpec, MemoryConfig, OutputType
from memalign.models import check_spec_models, default_embedder
from memalign.records import AlignmentReport, ForgetReport
from memalign.stores import DEFAULT_TENANT, open_store

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class MemalignOptimizer(AlignmentOptimizer):
    """Align an MLflow judge with memalign.

    Args:
        store: the memalign store (a path or ``sqlite:///`` URL, not in-memory; default:
            settings, then the per-user store). The aligned judge finds its memory again here by
            name.
        model: the judge and reflection model (``fake``, ``local``, ``openai/<m>``,
            ``http://host:port/v1#<m>``…; default: the judge's own, then settings).
        embedder: the embedder of a new judge (default follows the model: ``hash`` for ``fake``,
            the local MiniLM otherwise). An existing judge keeps its own.
        reflection_model: a separate model for distilling guidelines.
        output: a memalign output type overriding the map from ``feedback_value_type`` (the
            bounds of an ``int`` scale, or ``Pairwise()``, which MLflow cannot express).
        memory: memory settings of a new judge (k, budgets, decision rule…).
        judge_name: the memalign judge's name when it differs from the MLflow judge's.
        detect_disagreements: run the judge on the new feedback first (memalign's default).
    """

    def __init__(
        self,
        store: str | Path | None = None,
        *,
        model: str | None = None,
        embedder: str | None = None,
        reflection_model: str | None = None,
        output: OutputType | None = None,
        memory: MemoryConfig | None = None,
        judge_name: str | None = None,
        tenant: str = DEFAULT_TENANT,
        detect_disagreements: bool | None = None,
    ) -> None:
        self.store = store_location(store)
        # Only a store the caller named can conflict with an aligned judge's own.
        self._store_given = store is not None
        self.model = model
        self.embedder = embedder
        self.reflection_model = reflection_model
        self.output = output
        self.memory = memory
        self.judge_name = judge_name
        self.tenant = tenant
        self.detect_disagreements = detect_disagreements
        self.last_report: AlignmentReport | None = None
        self.last_forget: ForgetReport | None = None

    @classmethod
    def for_binding(cls, binding: Binding) -> MemalignOptimizer:
        """Continue aligning the judge a binding names, with the same models."""
        return cls(
            binding.store,
            model=binding.model,
            embedder=binding.embedder,
            reflection_model=binding.reflection_model,
            output=binding.values.output,
            judge_name=binding.judge,
            tenant=binding.tenant,
        )

    # -- the MLflow entry point ----------------------------------------------------------------

    def align(self, judge: Judge, traces: list[Trace]) -> MemalignJudge:
        if judge.is_session_level_scorer:
            raise SpecError("memalign aligns single-turn judges; session judges are not supported")
        if not traces:
            raise InputError("no traces given to align on")
        if isinstance(judge, MemalignJudge):
            binding = judge.binding
            self._check_same_memory(binding)
            core = opened(binding, judge.name)
            records, _ = records_from_traces(traces, judge.name, binding.values)
        else:
            criterion = _criterion(judge)
            values = value_map(criterion.feedback_value_type, self.output)
            spec = self._spec(criterion, values)
            records, _ = records_from_traces(traces, judge.name, values)
            # A refused alignment must leave no empty judge behind in the store.
            if not records and not self._exists(spec.name):
                raise self._nothing_to_learn(judge, traces)
            binding, core = self._bind(spec, values, judge.name)
        # A trace whose expert assessments were all deleted (or whose annotators changed) has
        # stored records that it no longer gives: the experts took them back, so forget them.
        stale = retracted(core.store.record_hashes(core.judge_id), traces, records)
        if not records and not stale:
            raise self._nothing_to_learn(judge, traces)
        self.last_forget = core.forget(stale) if stale else None
        self.last_report = (
            core.align(records, detect_disagreements=self.detect_disagreements) if records else None
        )
        aligned = MemalignJudge(
            binding,
            name=judge.name,
            description=judge.description,
            aggregations=judge.aggregations,
            timeout=judge.timeout,
        )
        aligned._last_report = self.last_report
        return aligned

    # -- binding an MLflow judge to a memalign judge -------------------------------------------

    @staticmethod
    def _nothing_to_learn(judge: Judge, traces: list[Trace]) -> InputError:
        return InputError(
            f"none of the {len(traces)} traces has a HUMAN feedback assessment named {judge.name!r}"
        )

    def _check_same_memory(self, binding: Binding) -> None:
        """An aligned judge keeps aligning its own memory with its own models: an optimizer
        naming others would otherwise be silently ignored."""
        differ = [
            f"{what} {mine!r} (the judge's: {theirs!r})"
            for what, mine, theirs in (
                ("store", self.store if self._store_given else None, binding.store),
                ("model", self.model, binding.model),
                ("embedder", self.embedder, binding.embedder),
                ("reflection_model", self.reflection_model, binding.reflection_model),
            )
            if mine is not None and mine != theirs
        ]
        if differ:
            raise SpecError(
                f"judge {binding.judge!r} is already aligned with memalign; this optimizer "
                f"names another {', '.join(differ)}: call judge.align(traces) without an "
                "optimizer to continue, or align the original MLflow judge into another store"
            )

    def _exists(self, name: str) -> bool:
        try:
            store = open_store(self.store, create=False)
        except StoreError:
            return False
        try:
            store.get_judge(name, tenant=self.tenant)
        except NotFoundError:
            return False
        finally:
            store.close()
        return True

    def _bind(
        self, spec: JudgeSpec, values: ValueMap, mlflow_name: str
    ) -> tuple[Binding, MemalignCore]:
        binding = Binding(
            store=self.store,
            judge=spec.name,
            values=values,
            tenant=self.tenant,
            model=self.model,
            embedder=spec.embedder,
            reflection_model=self.reflection_model,
        )
        store = open_store(self.store)
        try:
            try:
                row = store.get_judge(spec.name, tenant=self.tenant)
            except NotFoundError:
                check_spec_models(spec)
                store.create_judge(spec, tenant=self.tenant)
            else:
                if (row.spec.instructions, row.spec.output) != (spec.instructions, spec.output):
                    raise SpecError(
                        f"judge {spec.name!r} in {self.store} has other instructions or another "
                        "output type than the MLflow judge; align into another store or pass "
                        "judge_name= to keep both"
                    )
        finally:
            store.close()
        return binding, opened(binding, mlflow_name)

    def _spec(self, judge: Judge, values: ValueMap) -> JudgeSpec:
        instructions = judge.instructions
        unsupported = sorted(set(_PLACEHOLDER.findall(instructions)) - set(CASE_FIELDS))
        if unsupported:
            raise SpecError(
                f"memalign judges a case's inputs, outputs and expectations; the judge uses "
                f"{', '.join('{{ ' + p + ' }}' for p in unsupported)} (MLflow's tool-using "
                "trace judges and session judges are not supported): write the criterion with "
                "{{ inputs }} / {{ outputs }} / {{ expectations }}"
            )
        settings = Settings.load()
        # The embedder is pinned in the spec: memory vectors are only comparable with it.
        embedder = (
            self.embedder or settings.embedder or default_embedder(self.model or settings.model)
        )
        return JudgeSpec(
            name=self.judge_name or judge.name,
            instructions=instructions,
            output=values.output,
            memory=self.memory or MemoryConfig(),
            model=self.model,
            reflection_model=self.reflection_model,
            embedder=embedder,
        )


def _criterion(judge: Judge) -> Judge:
    # A judge MLflow's own optimizer aligned carries its guidelines in its instructions: start
    # from the criterion it wraps, so switching optimizers keeps the criterion only.
    inner = getattr(judge, "_base_judge", None)
    return inner if isinstance(inner, Judge) else judge
