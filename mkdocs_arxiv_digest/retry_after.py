"""The `Retry-After` header: how long a host asks a client to wait, in seconds."""

from __future__ import annotations

import email.utils
import math
from datetime import timezone


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` header asks to wait (a number of seconds or an HTTP date); None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() and len(value) <= 9:
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=timezone.utc)
    seconds = when.timestamp() - now
    return max(seconds, 0.0) if math.isfinite(seconds) else None
