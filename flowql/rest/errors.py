"""Formance's error body, `{"errorCode", "errorMessage"}`, and the middleware that sends it.

Formance's SDKs parse `errorCode` into an enum of exactly VALIDATION, NOT_FOUND and
INTERNAL: any other value makes them raise a generic "response validation failed" error
instead of their typed one. So the body keeps to those three codes, and the HTTP status
carries the rest: a CONFLICT from the engine is a 409 whose code is VALIDATION.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from flowql.engine.errors import UNAVAILABLE_MESSAGE, ErrorCode, FlowqlError, is_unavailable

log = logging.getLogger(__name__)

PREFIX: Final = "/api/orchestration"
WIRE_CODES: Final = ("VALIDATION", "NOT_FOUND", "INTERNAL")

_STATUS: Final = {
    ErrorCode.VALIDATION: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}
_WIRE: Final = {
    ErrorCode.NOT_FOUND: "NOT_FOUND",
    ErrorCode.UNAVAILABLE: "INTERNAL",
    ErrorCode.INTERNAL: "INTERNAL",
}


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"errorCode": code, "errorMessage": message}, status=status)


def from_flowql(error: FlowqlError) -> web.Response:
    return error_response(_STATUS[error.code], _WIRE.get(error.code, "VALIDATION"), error.message)


def from_http(error: web.HTTPException) -> web.Response:
    """Router answers (unknown path, wrong method) in Formance's shape."""
    code = "NOT_FOUND" if error.status == 404 else "INTERNAL" if error.status >= 500 else "VALIDATION"
    response = error_response(error.status, code, error.reason)
    for header in ("Allow", "WWW-Authenticate"):
        if header in error.headers:
            response.headers[header] = error.headers[header]
    return response


@web.middleware
async def formance_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure under `/api/orchestration` answers a Formance error body, never a traceback."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except FlowqlError as error:
        return from_flowql(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return from_http(error)
    except Exception as error:
        if is_unavailable(error):  # the store went away: 503 until it is back
            log.warning("store unavailable in %s %s: %s", request.method, request.path, error)
            return error_response(503, "INTERNAL", UNAVAILABLE_MESSAGE)
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, "INTERNAL", "internal error")


__all__ = ["WIRE_CODES", "error_response", "formance_errors", "from_flowql"]
