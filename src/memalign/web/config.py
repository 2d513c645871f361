"""How the review server runs: where it listens, who may use it, and its limits. Free of the
web dependencies so the CLI can check its options before anything optional is imported."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from memalign.errors import InputError
from memalign.judge import Judge

# Loads a judge by name with its models; the CLI passes one that honours --model and settings.
JudgeOpener = Callable[[str], Judge]

# Names a browser sends in Host for a loopback server; anything else on a server without a
# token is a DNS-rebinding attempt (a hostile page resolving its own name to 127.0.0.1).
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


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
    # Whole request bodies (uploads included) and single text fields.
    max_body_bytes: int = 20 * 1024 * 1024
    max_feedback_chars: int = 5000
    # Queued cases re-judged after each submission to flag verdicts that flip; bounded so a
    # slow model keeps the worker free for the next expert.
    rejudge_limit: int = 25

    def check(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise InputError(
                f"--host {self.host} is not loopback: pass --token (anyone reaching the port "
                "could change the judge's memory)",
                field="--token",
            )
        if self.token is not None and len(self.token) < 12:
            raise InputError("--token must be at least 12 characters", field="--token")
