"""Bearer auth for the REST routes: `flowql.auth`'s rule, answered in Formance's shape.

GET/HEAD/OPTIONS need `orchestration:read`, every other method `orchestration:write`
(Formance's scopes per operation follow the same rule). The OpenAPI documents stay public.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from flowql.auth import Authenticator, refusal, scope_for_method
from flowql.engine.errors import ErrorCode

from .errors import error_response
from .routes import PREFIXES


def require_scopes(authenticator: Authenticator) -> Middleware:
    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(PREFIXES[1]) or request.path.endswith("/openapi.json"):
            return await handler(request)
        grant = authenticator.grant(request.headers.get("Authorization"))
        refused = refusal(grant, scope_for_method(request.method))
        if refused is None:
            return await handler(request)
        if refused.code is ErrorCode.UNAUTHENTICATED:
            response = error_response(401, "VALIDATION", refused.message)
            response.headers["WWW-Authenticate"] = 'Bearer realm="flowql"'
            return response
        return error_response(403, "VALIDATION", refused.message)

    return bearer


__all__ = ["require_scopes"]
