"""v2 list cursors: the engine's cursor plus the list's filters, opaque to the client.

Formance's cursors carry the query they page through ("no other parameters can be set
when this parameter is set"), so a client sends only `cursor` for the next page. The
engine's cursors carry the position only; here they are wrapped with the filters.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from flowql.engine.errors import validation
from flowql.engine.pagination import PageRequest

from .parse import query_bool, query_int

Filters = dict[str, str | bool]


@dataclass(frozen=True, slots=True)
class ListRequest:
    page: PageRequest
    filters: Filters = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.filters.get(name)
        return value if isinstance(value, str) and value else None

    def flag(self, name: str) -> bool:
        return self.filters.get(name) is True


def encode(position: str | None, filters: Mapping[str, str | bool]) -> str | None:
    if position is None:
        return None
    body = json.dumps({"p": position, "f": dict(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode()


def decode(text: str) -> tuple[str, Filters]:
    try:
        body = json.loads(base64.urlsafe_b64decode(text.encode()))
        position, filters = body["p"], body["f"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, RecursionError):
        raise validation("cursor: invalid or corrupted cursor", field="cursor") from None
    if not isinstance(position, str) or not isinstance(filters, dict):
        raise validation("cursor: invalid or corrupted cursor", field="cursor")
    return position, {k: v for k, v in filters.items() if isinstance(v, str | bool)}


DEFAULT_PAGE_SIZE = 15
MAX_PAGE_SIZE = 100
"""Formance's go-libs `bunpaginate`: 15 by default (also for 0), larger sizes capped at 100."""


def page_size(request: web.Request, max_page_size: int = MAX_PAGE_SIZE) -> int | None:
    size = query_int(request, "pageSize")
    if size is None or size == 0:
        return None if request.query.get("cursor") else DEFAULT_PAGE_SIZE
    if size < 0:
        raise validation(f"pageSize: must not be negative, got {size}", field="pageSize")
    return min(size, max_page_size)


def list_request(
    request: web.Request,
    *,
    texts: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    max_page_size: int = MAX_PAGE_SIZE,
) -> ListRequest:
    """`cursor` and `pageSize`; with a cursor, the filters come from it, not from the query."""
    size = page_size(request, max_page_size)
    text = request.query.get("cursor")
    if text:
        position, carried = decode(text)
        return ListRequest(PageRequest.of(size, position), carried)
    filters: Filters = {name: request.query[name] for name in texts if request.query.get(name)}
    filters.update({name: True for name in flags if query_bool(request, name)})
    return ListRequest(PageRequest.of(size), filters)


__all__ = ["ListRequest", "decode", "encode", "list_request"]
