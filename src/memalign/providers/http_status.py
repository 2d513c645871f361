"""One mapping from HTTP failures to ``ProviderError`` for every HTTP-based adapter."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from memalign.errors import ProviderError
from memalign.records import utcnow

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return float(lowered["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def from_status(
    provider: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> ProviderError:
    return ProviderError(
        f"HTTP {status}: {message}",
        provider=provider,
        status=status,
        retryable=status in RETRYABLE_STATUS,
        retry_after=retry_after(headers),
    )


def transport_error(provider: str, message: str) -> ProviderError:
    """Timeouts and dropped connections: worth another try."""
    return ProviderError(message, provider=provider, retryable=True)
