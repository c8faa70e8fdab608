"""Relay-style connections (`edges { node cursor }`, `pageInfo`) built from an engine `Page`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import strawberry

from flowql.engine.errors import FlowqlError, validation
from flowql.engine.pagination import Cursor, Direction, Page, PageRequest

from .context import ApiLimits

T = TypeVar("T")
K = TypeVar("K")


class _Keyed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


@strawberry.type(description="Where a page sits in the list; pass `endCursor` as `after` for the next.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of the edges, in order.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def _created(item: _Keyed) -> tuple[datetime, str]:
    return item.created_at, item.id


def connection_of(
    page: Page[K], convert: Callable[[K], T], key: Callable[[Any], tuple[datetime, str]] = _created
) -> Connection[T]:
    """Map a page of engine models; every edge gets a cursor that reads on after it (`key`:
    the store's cursor key of an item, `(created_at, id)` unless the list says otherwise)."""
    edges = [
        Edge(node=convert(item), cursor=Cursor(*key(item), Direction.OLDER, page.page_size).encode())
        for item in page.items
    ]
    info = PageInfo(
        has_next_page=page.has_more,
        has_previous_page=page.previous is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info)


def page_request(limits: ApiLimits, first: int | None, after: str | None) -> PageRequest:
    """`first` defaults to the cursor's page size, else the default; 1..max_page_size."""
    if first is not None and not 1 <= first <= limits.max_page_size:
        raise validation(f"first: must be between 1 and {limits.max_page_size}, got {first}", field="first")
    try:
        request = PageRequest.of(first, after, field="first")
    except FlowqlError as error:
        if error.field != "cursor":
            raise
        raise validation("after: invalid or corrupted cursor", field="after") from None
    if first is None and after is None:
        request = PageRequest(limits.default_page_size, None)
    if request.page_size > limits.max_page_size:
        raise validation(f"first: must be at most {limits.max_page_size}", field="first")
    return request


__all__ = ["Connection", "Edge", "PageInfo", "connection_of", "page_request"]
