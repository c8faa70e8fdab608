"""The paging arguments of a stage's history (`first`, `after`), checked once for both fields."""

from __future__ import annotations

from flowql.engine.errors import validation
from flowql.engine.store import MAX_ROWS

HISTORY_PAGE = (
    "The activities the stage ran, in order, with attempts and failures (the one waiting for its "
    f"next attempt last): at most `first` (1..{MAX_ROWS}, default {MAX_ROWS}) after the first "
    "`after` (default 0); entries are never removed, so `after` is a stable position."
)


def history_page(first: int | None, after: int | None, *, after_name: str = "after") -> tuple[int, int]:
    """`(first, after)` with their defaults; VALIDATION naming the argument when out of range."""
    size = MAX_ROWS if first is None else first
    if not 1 <= size <= MAX_ROWS:
        raise validation(f"first: must be between 1 and {MAX_ROWS}, got {size}", field="first")
    start = 0 if after is None else after
    if start < 0:
        raise validation(f"{after_name}: must be 0 or more, got {start}", field=after_name)
    return size, start


__all__ = ["HISTORY_PAGE", "history_page"]
