"""The Formance Orchestration REST compatibility layer (v1 and v2) on an aiohttp app.

`setup_rest(app, engine)` registers every route of both versions, their OpenAPI documents
and the middleware that answers errors in Formance's shape. Handlers only parse, call the
engine's services and serialize; the operation table (`routes.py`) lists what exists.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from flowql.auth import Authenticator
from flowql.engine.runtime import Engine

from .auth import require_scopes
from .cursors import MAX_PAGE_SIZE
from .errors import formance_errors
from .handlers import Handlers
from .openapi import Document, document
from .routes import PREFIXES, READ, WRITE, Operation, Version, operations
from .v1 import V1
from .v2 import V2

REST_OPERATIONS: Final = web.AppKey("flowql.rest.operations", list[Operation])
"""Every REST operation registered, with its scope: what auth and the tests read."""


def openapi_path(version: Version) -> str:
    return f"{PREFIXES[version]}/openapi.json"


def setup_rest(
    app: web.Application,
    engine: Engine,
    *,
    authenticator: Authenticator | None = None,
    max_page_size: int = MAX_PAGE_SIZE,
) -> None:
    """Register `/api/orchestration` (v1) and `/api/orchestration/v2` (v2) on `app`.

    v2 pages hold 15 items by default (also for `pageSize=0`), at most `max_page_size`
    (Formance's 100): a larger `pageSize` is capped, as Formance caps it.

    With an `authenticator` (`flowql.auth.Authenticator`), the routes need a bearer token:
    GET with `orchestration:read`, other methods with `orchestration:write`.
    """
    app.middlewares.append(formance_errors)
    if authenticator is not None:
        app.middlewares.append(require_scopes(authenticator))
    registered: list[Operation] = []
    versions: tuple[tuple[Version, Handlers], ...] = (
        (1, V1(engine)),
        (2, V2(engine, max_page_size=max_page_size)),
    )
    for version, handlers in versions:
        ops = operations(handlers, version)
        for op in ops:
            name = f"orchestration.v{version}.{op.operation_id}"
            if op.method == "GET":  # and HEAD, which needs the same scope (flowql.auth)
                app.router.add_get(op.path, op.handler, name=name)
            else:
                app.router.add_route(op.method, op.path, op.handler, name=name)
        app.router.add_route("GET", openapi_path(version), _serve(document(ops, version)))
        registered.extend(ops)
    app[REST_OPERATIONS] = registered


def _serve(doc: Document) -> Handler:
    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(doc)

    return openapi


__all__ = ["READ", "REST_OPERATIONS", "WRITE", "Operation", "openapi_path", "setup_rest"]
