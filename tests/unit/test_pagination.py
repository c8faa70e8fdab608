from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.pagination import Cursor, Direction, PageRequest, make_page

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def test_page_size_bounds() -> None:
    assert PageRequest.of().page_size == 15
    assert PageRequest.of(1000).page_size == 1000
    for size in (0, 1001):
        with pytest.raises(FlowqlError) as caught:
            PageRequest.of(size)
        assert caught.value.code is ErrorCode.VALIDATION
        assert caught.value.field == "pageSize"


def test_cursor_round_trip_and_corruption() -> None:
    cursor = Cursor(BASE, "abc", Direction.OLDER, 10)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("nope", "eyJ4IjoxfQ==", cursor.encode()[:-3]):
        with pytest.raises(FlowqlError):
            PageRequest.of(cursor=bad)


def test_cursor_keeps_its_page_size() -> None:
    cursor = Cursor(BASE, "abc", Direction.OLDER, 7).encode()
    assert PageRequest.of(cursor=cursor).page_size == 7


def test_make_page_reports_more_and_cursors() -> None:
    rows = [(BASE - timedelta(seconds=i), str(i)) for i in range(3)]
    page = make_page(list(rows), PageRequest(2), key=lambda r: r)
    assert page.items == rows[:2] and page.has_more and page.previous is None
    assert page.next is not None and Cursor.decode(page.next).id == "1"
