from __future__ import annotations

import importlib
from typing import Any

import pytest
from typer.testing import CliRunner

from memalign.cli import app
from memalign.errors import DependencyError
from memalign.web import require_web


def test_serve_refuses_a_public_host_without_a_token(tmp_path: Any) -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--store", str(tmp_path)])
    assert result.exit_code == 2
    assert "--token" in result.output


def test_missing_web_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args: Any) -> Any:
        if name == "fastapi":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(DependencyError, match=r"memalign\[web\]"):
        require_web()


def test_importing_memalign_and_its_cli_loads_no_web_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, memalign, memalign.cli; "
        "print([m for m in ('fastapi', 'starlette', 'jinja2', 'uvicorn') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_takes_a_users_file_instead_of_a_token(tmp_path: Any) -> None:
    missing = tmp_path / "users.json"
    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--users", str(missing), "--store", str(tmp_path)]
    )
    assert result.exit_code != 0 and "users.json" in result.output
    missing.write_text('{"maria": "short"}')
    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--users", str(missing), "--store", str(tmp_path)]
    )
    assert result.exit_code != 0 and "shorter than 12" in result.output
