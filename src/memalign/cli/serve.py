"""``memalign serve``: the expert review page over a store (the optional ``web`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memalign.cli.common import ModelOpt, StoreOpt, command, err_console, open_judge, store_for


@command
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; beyond loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Access token the page asks for (required when --host is not loopback).",
            envvar="MEMALIGN_SERVE_TOKEN",
            show_envvar=False,
        ),
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option(
            "--users",
            help='JSON file {"annotator": "their token", …}: a token per expert, instead of '
            "--token; reviews carry the signed-in name.",
        ),
    ] = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
) -> None:
    """Serve the expert review page in a browser (needs the web extra).

    A queue of cases per judge, reviews the judge learns from in the background, its memory
    (edit, retire, forget) and agreement figures. Binds 127.0.0.1; any other --host needs
    --token or --users."""
    # Imported here: the web dependencies are optional and the rest of the CLI must not need
    # them.
    from memalign.web import ServeConfig, create_app, require_web
    from memalign.web.config import load_users

    config = ServeConfig(
        host=host, port=port, token=token, users=load_users(users) if users else None
    )
    config.check()
    require_web()
    import uvicorn

    opened = store_for(store)
    app = create_app(opened, lambda name: open_judge(opened, name, model), config)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    if users:
        # Each expert's token is theirs to keep: none is printed.
        address += " (each expert adds ?token=<their token from --users>)"
    err_console.print(f"memalign review page: {address}", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
