"""Without MLflow: `import memalign` and the CLI work; the integration names the extra."""

from __future__ import annotations

import subprocess
import sys

# Simulates a missing package: an entry of None in sys.modules makes its import fail.
NO_MLFLOW = "import sys; sys.modules['mlflow'] = None; "


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_MLFLOW + code], capture_output=True, text=True, timeout=60
    )


def test_the_integration_raises_a_dependency_error_with_the_install_hint() -> None:
    out = _python(
        "from memalign.errors import DependencyError\n"
        "try:\n    import memalign.integrations.mlflow\n"
        "except DependencyError as exc:\n    print(exc.hint)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pip install 'memalign[mlflow]'"


def test_the_cli_names_the_extra_before_judging() -> None:
    out = _python(
        "from typer.testing import CliRunner\n"
        "from memalign.cli import app\n"
        "r = CliRunner().invoke(app, ['run', 'j', 'cases.jsonl', '--to-mlflow', '--store', 'x'])\n"
        "print(r.exit_code); print(r.stderr)"
    )
    assert out.returncode == 0, out.stderr
    code, message = out.stdout.split("\n", 1)
    assert code == "1" and "memalign[mlflow]" in message
