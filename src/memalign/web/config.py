"""How the review server runs: where it listens, who may use it, and its limits. Free of the
web dependencies so the CLI can check its options before anything optional is imported."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from memalign.errors import InputError
from memalign.judge import Judge

# Loads a judge by name with its models; the CLI passes one that honours --model and settings.
JudgeOpener = Callable[[str], Judge]

# Names a browser sends in Host for a loopback server; anything else on a server without a
# token is a DNS-rebinding attempt (a hostile page resolving its own name to 127.0.0.1).
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MIN_TOKEN_CHARS = 12
MAX_ANNOTATOR_CHARS = 80


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    # Required when ``host`` is not loopback: anyone who can reach the port could otherwise
    # rewrite the judge's memory.
    token: str | None = None
    # Instead of one shared token: each expert's own token (token -> annotator name). Reviews
    # are then recorded under the signed-in name, not the one typed in the form.
    users: Mapping[str, str] | None = None
    # Whole request bodies (uploads included) and single text fields.
    max_body_bytes: int = 20 * 1024 * 1024
    max_feedback_chars: int = 5000
    # Queued cases re-judged after each submission to flag verdicts that flip; bounded so a
    # slow model keeps the worker free for the next expert.
    rejudge_limit: int = 25
    # How long a memory change (edit, forget…) waits for the writer before the page says it
    # is still running; the change is applied all the same.
    wait_seconds: float = 60.0

    def check(self) -> None:
        if not is_loopback(self.host) and not self.token and not self.users:
            raise InputError(
                f"--host {self.host} is not loopback: pass --token or --users (anyone reaching "
                "the port could change the judge's memory)",
                field="--token",
            )
        if self.token is not None and self.users:
            raise InputError("pass --token or --users, not both", field="--users")
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise InputError(
                f"--token must be at least {MIN_TOKEN_CHARS} characters", field="--token"
            )
        for token, name in (self.users or {}).items():
            if len(token) < MIN_TOKEN_CHARS:
                raise InputError(
                    f"the token of {name!r} is shorter than {MIN_TOKEN_CHARS} characters",
                    field="--users",
                )
            if not 0 < len(name.strip()) <= MAX_ANNOTATOR_CHARS or name != name.strip():
                raise InputError(
                    f"annotator names are 1 to {MAX_ANNOTATOR_CHARS} characters without "
                    f"surrounding spaces, not {name!r}",
                    field="--users",
                )


def load_users(path: Path) -> dict[str, str]:
    """``--users``: a JSON object from each annotator's name to their own access token;
    returns token -> name."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror or exc}", file=str(path)) from None
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", file=str(path)) from None
    if not isinstance(raw, dict) or not raw:
        raise InputError('expected {"annotator": "their token", …}', file=str(path))
    users: dict[str, str] = {}
    for name, token in raw.items():
        if not isinstance(token, str):
            raise InputError(f"the token of {name!r} is not a string", file=str(path))
        if token in users:
            raise InputError(f"{users[token]!r} and {name!r} share a token", file=str(path))
        users[token] = name
    return users
