"""HTTP guards in front of every route: Host allowlist, body media types, browser headers.

- **DNS rebinding.** A page on `evil.example` whose name resolves to 127.0.0.1 reaches a
  loopback server as same-origin. So a server bound to a loopback address serves only
  loopback host names (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`) and the names given
  with `--allowed-host`; any other `Host` is 421 Misdirected Request (a WebSocket upgrade
  too, before it is accepted). Bound elsewhere, `--allowed-host` (when given) is the list.
- **CSRF.** A cross-site `<form>` or a no-cors `fetch` can POST with a CORS-"simple" media
  type (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`) or with
  none, without a preflight. REST requests with a body, or with such a media type, must be
  `application/json` (or `text/vnd.yaml` where Formance takes YAML): others are 415 in
  Formance's error shape before any handler runs. A bodiless POST that a browser sent
  (it carries `Origin`) must say `application/json` as well. GraphQL POSTs are JSON only
  already (Strawberry answers 400 to any other media type).
- **Browser headers** on every answer: `X-Content-Type-Options: nosniff`,
  `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`; the HTML pages (status page,
  GraphiQL) get a CSP that loads scripts from this server only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from .rest.errors import PREFIX, error_response
from .rest.parse import YAML

JSON: Final = "application/json"
SIMPLE_TYPES: Final = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FRAMING: Final = "frame-ancestors 'none'"
PAGE_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a `Host` header without its port, lower case (`[::1]:80` -> `::1`)."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def host_allowlist(bind_host: str, allowed: Iterable[str]) -> Middleware | None:
    """The middleware for `bind_host`, or None when every Host is served (bound elsewhere
    and no `--allowed-host`)."""
    names = frozenset(host_name(name) for name in allowed)
    loopback = is_loopback(bind_host)
    if not loopback and not names:
        return None

    def served(name: str) -> bool:
        return name in names or (loopback and is_loopback(name))

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not served(host_name(request.headers.get(hdrs.HOST, ""))):
            return web.json_response(
                {
                    "errors": [
                        {
                            "message": "this server does not serve that host name (see --allowed-host)",
                            "extensions": {"code": "FORBIDDEN"},
                        }
                    ]
                },
                status=421,
            )
        return await handler(request)

    return check_host


@web.middleware
async def rest_media_types(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PREFIX) and request.method in BODY_METHODS:
        has_body = request.body_exists
        given = hdrs.CONTENT_TYPE in request.headers
        media = request.content_type if given else ""
        accepted = {JSON, YAML} if request.path.rstrip("/").endswith("/workflows") else {JSON}
        browser = hdrs.ORIGIN in request.headers
        if (has_body or given or browser) and media not in accepted:
            return error_response(
                415,
                "VALIDATION",
                f"Content-Type must be {' or '.join(sorted(accepted))}, got {media or 'none'!r}",
            )
    return await handler(request)


async def browser_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
    else:
        headers.setdefault("Content-Security-Policy", FRAMING)


def setup_guards(app: web.Application, *, bind_host: str, allowed_hosts: Iterable[str]) -> None:
    """Put the guards first: nothing else runs for a refused request."""
    check_host = host_allowlist(bind_host, allowed_hosts)
    app.middlewares.insert(0, rest_media_types)
    if check_host is not None:
        app.middlewares.insert(0, check_host)
    app.on_response_prepare.append(browser_headers)


__all__ = ["PAGE_CSP", "host_allowlist", "host_name", "is_loopback", "setup_guards"]
