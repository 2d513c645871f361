"""Typed settings from defaults < a TOML file < environment variables, passed explicitly.

File: ``$MEMALIGN_CONFIG`` or ``<user config dir>/memalign/config.toml`` with keys ``model``,
``reflection_model``, ``embedder``, ``store``, ``reference_price``, ``timeout`` (seconds per
remote call). Environment: the same names,
upper-cased and prefixed ``MEMALIGN_`` (e.g. ``MEMALIGN_MODEL=openai/gpt-4.1-mini``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from memalign.errors import InputError

DEFAULT_MODEL = "local"


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    reflection_model: str | None = None
    embedder: str | None = None
    store: str | None = None
    reference_price: str | None = None
    # Seconds before a remote model call is abandoned (and retried).
    timeout: str | None = None

    @property
    def timeout_seconds(self) -> float:
        if self.timeout is None:
            return 60.0
        try:
            value = float(self.timeout)
        except ValueError:
            raise InputError(
                f"timeout must be a number of seconds, got {self.timeout!r}", field="timeout"
            ) from None
        if value <= 0:
            raise InputError("timeout must be > 0", field="timeout")
        return value

    @classmethod
    def load(cls, path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls()
        file = path or _default_file(env)
        if file is not None and file.is_file():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read settings: {exc}", file=str(file)) from None
            known = {f.name for f in fields(cls)}
            for key in data:
                if key not in known:
                    raise InputError(f"unknown setting {key!r}", file=str(file), field=key)
            settings = replace(settings, **{k: str(v) for k, v in data.items()})
        overrides = {
            f.name: env[f"MEMALIGN_{f.name.upper()}"]
            for f in fields(cls)
            if env.get(f"MEMALIGN_{f.name.upper()}")
        }
        return replace(settings, **overrides)


def _default_file(env: Mapping[str, str]) -> Path | None:
    if env.get("MEMALIGN_CONFIG"):
        return Path(env["MEMALIGN_CONFIG"])
    import platformdirs

    return Path(platformdirs.user_config_dir("memalign", appauthor=False)) / "config.toml"
