"""The expert review page (``memalign serve``): a queue of cases per judge, a review screen
that learns from each submission in the background, the judge's memory, and agreement figures.

FastAPI and Jinja2 are optional (the ``web`` extra): this face imports them only when an app
is built, so the rest of memalign never loads them.
"""

from __future__ import annotations

from typing import Any

from memalign.web.config import JudgeOpener, ServeConfig, is_loopback
from memalign.web.deps import require_web

__all__ = ["JudgeOpener", "ServeConfig", "create_app", "is_loopback", "require_web"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """Build the FastAPI app (see :func:`memalign.web.app.create_app`)."""
    require_web()
    from memalign.web.app import create_app as build

    return build(*args, **kwargs)
