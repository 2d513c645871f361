"""The options that spell a check on the command line (`guideline add` and `guideline check`
share them) and the one function that turns them into a validated-later ``Check``."""

from __future__ import annotations

from typing import Annotated

import typer

from memalign.checks import spelled_check
from memalign.errors import InputError
from memalign.records import Check, CheckField, CheckPart

CheckOpt = Annotated[
    str | None,
    typer.Option(
        "--check",
        help="A term (plain text, matched case-insensitively) whose presence implies "
        "--implies; validated on the labelled records before it acts.",
    ),
]
ImpliesOpt = Annotated[
    str | None, typer.Option("--implies", help="The label the --check term implies.")
]
AbsentOpt = Annotated[
    bool, typer.Option("--absent", help="The check fires when the term is missing instead.")
]
FieldOpt = Annotated[
    CheckField,
    typer.Option("--field", help="Where the check looks: outputs, inputs or expectations."),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key", help="Look in one named entry of --field (an input such as region) only."
    ),
]
PartOpt = Annotated[
    CheckPart,
    typer.Option("--part", help="Look in the whole text, or its first_line or last_line only."),
]
PatternOpt = Annotated[
    bool,
    typer.Option(
        "--pattern",
        help="The --check term is an RE2 pattern (case-insensitive, linear time) instead of "
        "plain text.",
    ),
]
WithinOpt = Annotated[
    str | None,
    typer.Option(
        "--within",
        help="Fire on a match of the --check term (or --pattern) that is not copied from this "
        "place, FIELD[.KEY] (e.g. inputs.source_text): an altered figure or name.",
    ),
]
WhenOpt = Annotated[
    str | None,
    typer.Option(
        "--when",
        help="Apply the check only to cases where this holds, written FIELD[.KEY]=TERM "
        "(the term is in it), FIELD[.KEY]==VALUE (it is exactly the value, e.g. "
        "inputs.audience_region==UK) or FIELD[.KEY]!=TERM for the term's absence.",
    ),
]


def build_check(
    check: str | None,
    implies: str | None,
    *,
    absent: bool,
    field: CheckField,
    key: str | None,
    part: CheckPart,
    pattern: bool,
    when: str | None,
    within: str | None = None,
) -> Check | None:
    """The check the options spell, or None when they spell none; InputError naming the
    option that is wrong."""
    if check is None and implies is None:
        if key is not None or part != "all" or pattern or absent or when or within:
            raise InputError(
                "--absent, --key, --part, --pattern, --when and --within describe a --check",
                field="--check",
            )
        return None
    if check is None or implies is None:
        raise InputError("--check and --implies go together", field="--check")
    return spelled_check(
        {
            "term": check,
            "label": implies,
            "present": not absent,
            "field": field,
            "key": key,
            "part": part,
            "pattern": pattern,
        },
        when=when,
        within=within,
        option="--",
    )
