"""Opaque cursors over `(createdAt, id)`, newest first, in both directions.

A cursor encodes the key of the row it starts after and the direction to read in, so a
page costs one indexed range query whatever its position (never an offset).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Generic, TypeVar

from .clock import from_iso, to_iso
from .errors import validation

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 15
MAX_PREFIX_ACCOUNTS = 1000
ACCOUNT_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Accounts have no creation time: their cursors carry this and the address as the key."""

T = TypeVar("T")


class Direction(str, Enum):
    OLDER = "next"
    NEWER = "prev"


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: str
    direction: Direction
    page_size: int

    def encode(self) -> str:
        body = {"c": to_iso(self.created_at), "i": self.id, "d": self.direction.value, "s": self.page_size}
        return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            body = json.loads(base64.urlsafe_b64decode(text.encode()))
            return cls(from_iso(body["c"]), str(body["i"]), Direction(body["d"]), int(body["s"]))
        except (
            binascii.Error,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            UnicodeError,
            OverflowError,  # "s": Infinity
            RecursionError,  # a forged cursor nested thousands deep
        ):
            raise validation("cursor: invalid or corrupted cursor", field="cursor") from None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a store needs to read one page: size, and where to start (None: the newest)."""

    page_size: int = DEFAULT_PAGE_SIZE
    after: Cursor | None = None

    @classmethod
    def of(
        cls, page_size: int | None = None, cursor: str | None = None, *, field: str = "pageSize"
    ) -> PageRequest:
        decoded = Cursor.decode(cursor) if cursor else None
        size = page_size if page_size is not None else (decoded.page_size if decoded else DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise validation(f"{field}: must be between 1 and {MAX_PAGE_SIZE}, got {size}", field=field)
        return cls(size, decoded)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    page_size: int
    next: str | None = None
    previous: str | None = None


def make_page(rows: list[T], request: PageRequest, key: Callable[[T], tuple[datetime, str]]) -> Page[T]:
    """Build a page from up to `page_size + 1` rows read in the request's direction.

    Stores read `page_size + 1` rows: the extra row only says whether more exist. Rows read
    towards newer items come back oldest first and are reversed here, so every page is newest
    first.
    """
    size = request.page_size
    direction = request.after.direction if request.after else Direction.OLDER
    more = len(rows) > size
    rows = rows[:size]
    if direction is Direction.NEWER:
        rows.reverse()
        has_older = True
        has_newer = more
    else:
        has_older = more
        has_newer = request.after is not None
    next_cursor = prev_cursor = None
    if rows and has_older:
        created, ident = key(rows[-1])
        next_cursor = Cursor(created, ident, Direction.OLDER, size).encode()
    if rows and has_newer:
        created, ident = key(rows[0])
        prev_cursor = Cursor(created, ident, Direction.NEWER, size).encode()
    return Page(rows, has_more=has_older, page_size=size, next=next_cursor, previous=prev_cursor)
