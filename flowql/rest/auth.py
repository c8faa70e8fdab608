"""Bearer auth for the REST routes with the same tokens and scopes as GraphQL.

GET needs `orchestration:read`, every other method `orchestration:write` (Formance's scopes
per operation follow the same rule). The OpenAPI documents stay public. `flowql.auth`'s
`Authenticator` decides who the caller is; this module only asks it.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .errors import error_response
from .routes import PREFIXES, READ, WRITE


class Grant(Protocol):
    @property
    def authenticated(self) -> bool: ...

    @property
    def scopes(self) -> frozenset[str] | None:
        """None: auth is off and everything is allowed."""


class Authenticator(Protocol):
    def grant(self, authorization: object) -> Grant: ...


def scope_for(method: str) -> str:
    return READ if method in {"GET", "HEAD"} else WRITE


def require_scopes(authenticator: Authenticator) -> Middleware:
    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(PREFIXES[1]) or request.path.endswith("/openapi.json"):
            return await handler(request)
        grant = authenticator.grant(request.headers.get("Authorization"))
        if grant.scopes is None:
            return await handler(request)
        if not grant.authenticated:
            response = error_response(
                401, "VALIDATION", "authentication required: send `Authorization: Bearer <token>`"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="flowql"'
            return response
        needed = scope_for(request.method)
        if needed not in grant.scopes:
            return error_response(403, "VALIDATION", f"this token lacks the scope {needed}")
        return await handler(request)

    return bearer


__all__ = ["Authenticator", "Grant", "require_scopes", "scope_for"]
