"""The web app's optional dependencies, imported lazily with an install hint: ``import memalign``
and the CLI must keep working where the ``web`` extra is not installed."""

from __future__ import annotations

import importlib

from memalign.errors import DependencyError

HINT = "pip install 'memalign[web]'"
# Import name, distribution name.
MODULES = (
    ("fastapi", "fastapi"),
    ("jinja2", "jinja2"),
    ("uvicorn", "uvicorn"),
    ("python_multipart", "python-multipart"),
)


def require_web() -> None:
    """Raise :class:`DependencyError` naming the first missing package of the ``web`` extra."""
    for module, package in MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            raise DependencyError(package, HINT) from None
