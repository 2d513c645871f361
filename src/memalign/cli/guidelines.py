"""``memalign guideline add | check | edit | pin | retire | approve``: guidelines by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from memalign.checks import explain, shortfall
from memalign.cli.check_options import (
    AbsentOpt,
    CheckOpt,
    FieldOpt,
    ImpliesOpt,
    KeyOpt,
    PartOpt,
    PatternOpt,
    WhenOpt,
    WithinOpt,
    build_check,
)
from memalign.cli.common import (
    GuidelineIdArg,
    GuidelineTextArg,
    JsonOpt,
    JudgeArg,
    StoreOpt,
    command,
    console,
    emit,
    open_judge,
    store_for,
)
from memalign.errors import InputError
from memalign.judge import Judge
from memalign.records import Guideline

guideline_app = typer.Typer(
    help="Edit a judge's guidelines by hand.", no_args_is_help=True, rich_markup_mode="markdown"
)


def _show(
    judge: Judge, guideline: Guideline, as_json: bool, verb: str, *, since: int | None = None
) -> None:
    """Print the guideline after ``verb``; with ``since`` (the memory version before the
    change), say so when the change made no new version: what was asked for already held."""
    min_bound = judge.spec.memory.check_min_bound
    if since is not None and judge.version == since:
        verb = "unchanged (already so):"

    def render() -> None:
        console.print(
            f"{verb} [{guideline.id}] {guideline.text} (guideline {guideline.status}"
            + (", pinned" if guideline.pinned else "")
            + ")",
            highlight=False,
            markup=False,
        )
        check = guideline.check
        if check is not None:
            why = shortfall(check, min_bound)
            state = "active" if why is None else f"not active: {why}"
            console.print(f"check: {explain(check)}; {state}", highlight=False, markup=False)

    emit(guideline, as_json, render)


@contextmanager
def _implies_named() -> Iterator[None]:
    """A check's label the judge refuses is what --implies said: name the option."""
    try:
        yield
    except InputError as exc:
        if exc.field != "check.label":
            raise
        raise InputError(exc.reason, field="--implies") from None


@guideline_app.command("add")
@command
def add(
    name: JudgeArg,
    text: GuidelineTextArg,
    pin: Annotated[
        bool, typer.Option("--pin", help="Pin it: always used, never merged away or retired.")
    ] = False,
    check: CheckOpt = None,
    implies: ImpliesOpt = None,
    absent: AbsentOpt = False,
    field: FieldOpt = "outputs",
    key: KeyOpt = None,
    part: PartOpt = "all",
    pattern: PatternOpt = False,
    when: WhenOpt = None,
    within: WithinOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a guideline by hand, optionally pinned or carrying a check.

    With `--check TERM --implies LABEL` the guideline also carries a check: it is validated on
    the judge's labelled records (it must fire on 3 or more, and the 95% lower bound of its
    precision must reach the judge's check_min_bound: at the default 0.75, about 9 of 9
    agreeing) and, while it holds, decides the verdicts it fires on without a model call.
    `memalign memory` shows its figures, and what it still lacks."""
    built = build_check(
        check,
        implies,
        absent=absent,
        field=field,
        key=key,
        part=part,
        pattern=pattern,
        when=when,
        within=within,
    )
    judge = open_judge(store_for(store), name, "fake")
    with _implies_named():
        added = judge.add_guideline(text, pinned=pin, check=built)
    _show(judge, added, as_json, "added")


@guideline_app.command("check")
@command
def set_check(
    name: JudgeArg,
    guideline_id: GuidelineIdArg,
    check: CheckOpt = None,
    implies: ImpliesOpt = None,
    absent: AbsentOpt = False,
    field: FieldOpt = "outputs",
    key: KeyOpt = None,
    part: PartOpt = "all",
    pattern: PatternOpt = False,
    when: WhenOpt = None,
    within: WithinOpt = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the guideline's check; its words stay.")
    ] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a guideline a check, replace its check, or remove it (`--remove`).

    The check is spelled as in `guideline add` and validated on the labelled records before
    it acts."""
    built = build_check(
        check,
        implies,
        absent=absent,
        field=field,
        key=key,
        part=part,
        pattern=pattern,
        when=when,
        within=within,
    )
    if (built is None) == (not remove):
        raise InputError("give either --check TERM --implies LABEL or --remove", field="--check")
    judge = open_judge(store_for(store), name, "fake")
    verb = "removed the check of" if remove else "set the check of"
    since = judge.version
    with _implies_named():
        changed = judge.set_check(guideline_id, built)
    _show(judge, changed, as_json, verb, since=since)


@guideline_app.command("edit")
@command
def edit(
    name: JudgeArg,
    guideline_id: GuidelineIdArg,
    text: GuidelineTextArg,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reword a guideline."""
    judge = open_judge(store_for(store), name, "fake")
    _show(judge, judge.edit_guideline(guideline_id, text), as_json, "edited")


@guideline_app.command("pin")
@command
def pin(
    name: JudgeArg,
    guideline_id: GuidelineIdArg,
    unpin: Annotated[
        bool, typer.Option("--unpin", help="Remove the pin: consolidation may reword it again.")
    ] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pin a guideline: always used, never reworded by consolidation."""
    judge = open_judge(store_for(store), name, "fake")
    since = judge.version
    changed = judge.pin_guideline(guideline_id, not unpin)
    _show(judge, changed, as_json, "unpinned" if unpin else "pinned", since=since)


@guideline_app.command("retire")
@command
def retire(
    name: JudgeArg, guideline_id: GuidelineIdArg, store: StoreOpt = None, as_json: JsonOpt = False
) -> None:
    """Stop using a guideline (kept for the record)."""
    judge = open_judge(store_for(store), name, "fake")
    since = judge.version
    changed = judge.retire_guideline(guideline_id)
    _show(judge, changed, as_json, "retired", since=since)


@guideline_app.command("approve")
@command
def approve(
    name: JudgeArg, guideline_id: GuidelineIdArg, store: StoreOpt = None, as_json: JsonOpt = False
) -> None:
    """Activate a pending (or retired) guideline."""
    judge = open_judge(store_for(store), name, "fake")
    since = judge.version
    changed = judge.approve_guideline(guideline_id)
    _show(judge, changed, as_json, "approved", since=since)
