"""Prompt templates, shipped as package data so they can be reviewed as text.

Templates use ``$name`` placeholders (``string.Template``) so JSON braces need no escaping.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


@cache
def template(name: str) -> Template:
    text = resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
    return Template(text)


def render(template_name: str, /, **values: str) -> str:
    return template(template_name).substitute(values).strip() + "\n"
