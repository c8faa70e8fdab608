"""Formance Orchestration API v1, under `/api/orchestration`: lists are whole, in `{"data": [...]}`.

Formance v1 lists take no paging parameters. Here a v1 list reads the engine's pages of
the largest size until the end, up to `V1_LIST_LIMIT` items (newest first).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from flowql.engine.pagination import MAX_PAGE_SIZE, PageRequest

from . import serialize
from .cursors import Filters, ListRequest
from .handlers import Fetch, Handlers, T, ToJson, ok
from .parse import query_bool

V1_LIST_LIMIT: Final = 10_000


class V1(Handlers):
    def list_query(
        self, request: web.Request, *, texts: tuple[str, ...] = (), flags: tuple[str, ...] = ()
    ) -> ListRequest:
        filters: Filters = {name: request.query[name] for name in texts if request.query.get(name)}
        filters.update({name: True for name in flags if query_bool(request, name)})
        return ListRequest(PageRequest.of(MAX_PAGE_SIZE), filters)

    async def render_list(self, query: ListRequest, fetch: Fetch[T], to_json: ToJson[T]) -> web.Response:
        items: list[T] = []
        page = query.page
        while True:
            got = await fetch(page)
            items.extend(got.items)
            if not got.has_more or got.next is None or len(items) >= V1_LIST_LIMIT:
                break
            page = PageRequest.of(None, got.next)
        body: list[dict[str, Any]] = await to_json(items[:V1_LIST_LIMIT])
        return ok(serialize.data(body))


__all__ = ["V1", "V1_LIST_LIMIT"]
