"""Formance Orchestration API v2, under `/api/orchestration/v2`: lists are cursor pages."""

from __future__ import annotations

from aiohttp import web

from flowql.engine.runtime import Engine

from . import serialize
from .cursors import MAX_PAGE_SIZE, ListRequest, encode, list_request
from .handlers import Fetch, Handlers, T, ToJson, ok


class V2(Handlers):
    V2 = True

    def __init__(self, engine: Engine, *, max_page_size: int = MAX_PAGE_SIZE) -> None:
        super().__init__(engine)
        self.max_page_size = max_page_size

    def list_query(
        self, request: web.Request, *, texts: tuple[str, ...] = (), flags: tuple[str, ...] = ()
    ) -> ListRequest:
        return list_request(request, texts=texts, flags=flags, max_page_size=self.max_page_size)

    async def render_list(self, query: ListRequest, fetch: Fetch[T], to_json: ToJson[T]) -> web.Response:
        page = await fetch(query.page)
        items = await to_json(page.items)
        return ok(
            serialize.cursor(
                page,
                items,
                next=encode(page.next, query.filters),
                previous=encode(page.previous, query.filters),
            )
        )


__all__ = ["V2"]
