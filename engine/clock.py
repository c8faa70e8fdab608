"""Time helpers: every stored timestamp is UTC with millisecond precision.

Milliseconds because MongoDB stores dates at that precision; truncating everywhere keeps
`(createdAt, id)` cursors identical on every backend.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import validation


def utc_now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def truncate(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_iso(moment: datetime) -> str:
    """Fixed-width ISO 8601 so that stored strings sort like the times they encode."""
    return truncate(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def from_iso(text: str) -> datetime:
    return truncate(datetime.fromisoformat(text.replace("Z", "+00:00")))


_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


MAX_DURATION = timedelta(days=36525)


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """Parse a Go duration (`10s`, `1h30m`, `1.5h`, `300ms`); negative durations are refused."""
    if not text or text == "0":
        if text == "0":
            return timedelta(0)
        raise validation(f"{field}: empty duration", field=field)
    position = 0
    seconds = 0.0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise validation(f"{field}: invalid duration {text!r} (expected e.g. 10s, 1h30m)", field=field)
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if seconds > MAX_DURATION.total_seconds():
        raise validation(f"{field}: duration {text!r} is longer than 100 years", field=field)
    return timedelta(seconds=seconds)


def parse_time(text: str, *, field: str = "until") -> datetime:
    """Parse an RFC 3339 time with an explicit offset."""
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise validation(f"{field}: RFC 3339 time {text!r} needs an offset or Z", field=field)
        return truncate(moment)
    except (ValueError, OverflowError):
        raise validation(f"{field}: invalid RFC 3339 time {text!r}", field=field) from None
