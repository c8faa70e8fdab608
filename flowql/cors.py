"""CORS for browser frontends on other origins: an allowlist, nothing allowed by default.

For `/graphql` and the REST paths, a request whose `Origin` is listed gets
`Access-Control-Allow-Origin: <that origin>`; its preflight (`OPTIONS` with
`Access-Control-Request-Method`) is answered here, 204, before authentication (browsers
send no `Authorization` on a preflight). Other origins get no CORS header, and their
preflights 403. Every answer on those paths says `Vary: Origin`, so a cache never serves
one origin's answer to another. Bearer tokens, not cookies, carry the caller's grant: no
`Access-Control-Allow-Credentials`. The WebSocket applies the same list (plus same-origin)
in the GraphQL view, which refuses other origins with 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

PATHS = ("/graphql", "/api/orchestration")
METHODS = "GET, POST, PUT, DELETE, OPTIONS"
HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"


def normalize_origin(text: str) -> str:
    """`scheme://host[:port]` as browsers send it (lowercase, default port left out);
    ValueError for anything that is not an origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"not an origin: {text!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an origin (expected http(s)://host[:port]): {text!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"an origin has no path, query or user: {text!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def normalize_origins(origins: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_origin(o) for o in origins))


def _covered(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PATHS)


def cors_middleware(origins: Sequence[str]) -> Middleware:
    allowed = frozenset(origins)

    def decorate(response: web.StreamResponse, origin: str | None) -> None:
        if response.prepared:  # a WebSocket: the view checked the origin itself
            return
        response.headers.add("Vary", "Origin")
        if origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not allowed or not _covered(request.path):
            return await handler(request)
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            preflight = web.Response(status=204 if origin in allowed else 403)
            decorate(preflight, origin)
            if origin in allowed:
                preflight.headers["Access-Control-Allow-Methods"] = METHODS
                preflight.headers["Access-Control-Allow-Headers"] = HEADERS
                preflight.headers["Access-Control-Max-Age"] = MAX_AGE
            return preflight
        try:
            response = await handler(request)
        except web.HTTPException as error:  # the browser may read the error body too
            decorate(error, origin)
            raise
        decorate(response, origin)
        return response

    return cors


__all__ = ["cors_middleware", "normalize_origin", "normalize_origins"]
