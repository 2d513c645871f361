"""Bad command lines (a missing argument, an unknown option, a value out of range) reported
like every other error: one line on stderr, a JSON object on stdout under ``--json``, exit 2.
click would print a usage panel over several lines instead, which scripts cannot parse."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
import typer.core

from memalign.cli.common import fail


class OneLineUsageErrors(typer.core.TyperGroup):
    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(
                argv,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 1
        except typer.TyperException as exc:  # click's ClickException and its usage errors
            code = int(getattr(exc, "exit_code", 2))
            if type(exc).__name__ == "NoArgsIsHelpError":
                # `memalign judge` alone: the help is what the user wants to see.
                typer.echo(exc.format_message(), err=True)
            else:
                ctx = getattr(exc, "ctx", None)
                where = f"{ctx.command_path}: " if ctx is not None else ""
                message = f"{where}{exc.format_message()} (see --help)"
                fail(UsageError(message), code, "--json" in argv)
        else:
            # Without standalone mode an explicit typer.Exit comes back as its exit code.
            code = result if isinstance(result, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


class UsageError(Exception):
    """The command line itself was wrong (its class name is the error's ``type`` in JSON)."""
