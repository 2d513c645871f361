"""Where an MLflow judge's memory lives: a store, a judge name, the models, the value map.

This is all an MLflow judge carries of memalign. Memory itself (guidelines, examples with their
embeddings, history) stays in the memalign store, so registering a judge in MLflow writes a few
hundred bytes, and a judge reloaded in another process finds its memory again by store and name.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from memalign.config import Settings
from memalign.errors import InputError, NotFoundError, StoreError
from memalign.integrations.mlflow.values import ValueMap, value_map_from_dict
from memalign.judge import Judge
from memalign.models import build_models, default_embedder
from memalign.stores import DEFAULT_TENANT, default_store_path, open_store


def store_location(store: str | Path | None) -> str:
    """An absolute location, so a judge reloaded from another working directory finds it."""
    if store is None:
        store = Settings.load().store
        if store is None:
            return str(default_store_path())
    text = str(store)
    path = text[len("sqlite:///") :] if text.startswith("sqlite:///") else text
    if text in (":memory:", "sqlite://") or path in ("", ":memory:"):
        # A registered or reloaded judge (and every scorer call in evaluate) opens its store
        # again by this location, and a new in-memory database holds no judge.
        raise InputError(
            "an MLflow judge finds its memory again by location: give a file path", field="store"
        )
    if text.startswith("sqlite:///"):
        return "sqlite:///" + str(Path(path).resolve())
    return str(Path(text).expanduser().resolve())


@dataclass(frozen=True)
class Binding:
    store: str
    judge: str
    values: ValueMap
    tenant: str = DEFAULT_TENANT
    model: str | None = None
    embedder: str | None = None
    reflection_model: str | None = None

    def with_judge(self, name: str) -> Binding:
        return replace(self, judge=name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "judge": self.judge,
            "tenant": self.tenant,
            "model": self.model,
            "embedder": self.embedder,
            "reflection_model": self.reflection_model,
            "values": self.values.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Binding:
        return cls(
            store=str(data["store"]),
            judge=str(data["judge"]),
            values=value_map_from_dict(data["values"]),
            tenant=str(data.get("tenant") or DEFAULT_TENANT),
            model=data.get("model"),
            embedder=data.get("embedder"),
            reflection_model=data.get("reflection_model"),
        )

    def models(self, spec_model: str | None, spec_embedder: str | None) -> dict[str, Any]:
        """Clients for the judge: the binding's model > the judge's own > settings. The embedder
        stays the judge's own when it has one, since its memory vectors were made with it."""
        config = Settings.load()
        model = self.model or spec_model or config.model
        built = build_models(
            model,
            reflection_model=self.reflection_model or config.reflection_model,
            embedder=spec_embedder or self.embedder or config.embedder or default_embedder(model),
            reference_price=config.reference_price,
            timeout=config.timeout_seconds,
        )
        return built.as_kwargs()

    def model_name(self, spec_model: str | None) -> str:
        return self.model or spec_model or Settings.load().model

    def open(self, mlflow_name: str | None = None) -> Judge:
        """The memalign judge; ``mlflow_name`` (the MLflow judge's) only names it in errors."""
        try:
            store = open_store(self.store, create=False)
        except StoreError:
            raise self._missing(mlflow_name) from None
        try:
            row = store.get_judge(self.judge, tenant=self.tenant)
            return Judge(store, row, **self.models(row.spec.model, row.spec.embedder))
        except NotFoundError:
            store.close()
            raise self._missing(mlflow_name) from None
        except BaseException:
            store.close()
            raise

    def _missing(self, mlflow_name: str | None) -> StoreError:
        who = f"MLflow judge {mlflow_name!r}" if mlflow_name else "this MLflow judge"
        return StoreError(
            f"{who} keeps its memory in memalign judge {self.judge!r} here, which is not "
            "there: was it moved or deleted?",
            location=self.store,
        )


# Judges opened per binding and process: MLflow calls a reloaded scorer once per row, and
# opening a judge (the store, the models, the episodic index) costs far more than a verdict.
_OPENED: dict[str, Judge] = {}
_LOCK = threading.Lock()


def opened(binding: Binding, mlflow_name: str | None = None) -> Judge:
    key = binding.to_json()
    with _LOCK:
        judge = _OPENED.get(key)
        if judge is None:
            judge = _OPENED[key] = binding.open(mlflow_name)
        return judge
