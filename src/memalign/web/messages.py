"""What a person is told when something fails: enough to act on, never a path, a store
location or a provider's own words (those go to the server log)."""

from __future__ import annotations

from memalign.errors import (
    InputError,
    NotFoundError,
    ParseError,
    ProviderError,
    SpecError,
    StoreError,
)

GENERIC = "something went wrong on the server (its log says what)"
MODEL_FAILED = "the judge's model failed or could not be reached (the server's log says why)"
STORE_FAILED = "the store could not do that (the server's log says why)"
# Messages that stand for a detail only the log has.
HIDDEN = (GENERIC, MODEL_FAILED, STORE_FAILED)


def public_message(exc: BaseException) -> str:
    if isinstance(exc, NotFoundError):
        # The error's own text names the store searched, a path on the server.
        return f"unknown {exc.kind} {exc.key!r}"
    if isinstance(exc, (InputError, SpecError)):
        # About what the person sent; the upload route names the file they chose.
        return str(exc)
    # A provider's own text may hold an endpoint, an account or a key fragment.
    if isinstance(exc, (ProviderError, ParseError)):
        return MODEL_FAILED
    # StoreError names the store's path.
    if isinstance(exc, StoreError):
        return STORE_FAILED
    return GENERIC
