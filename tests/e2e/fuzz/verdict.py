"""What a hostile request may get back, and what it may not.

Allowed: HTTP < 500; a JSON body (`data` and/or `errors`); every error a non-empty
message and `extensions.code` among the client codes below. Never INTERNAL, never a
traceback or internal detail (file paths, driver names, exception class names) that the
request did not itself contain. WebSocket subscriptions: the same for every `error` and
`next` payload, and a close code, if the server closes, of 4400 (bad message) at most.
"""

from __future__ import annotations

from typing import Any

from .client import Reply, WsReply

CLIENT_CODES = frozenset({"VALIDATION", "NOT_FOUND", "CONFLICT", "UNAUTHENTICATED", "FORBIDDEN"})
LEAKS = (
    "Traceback",
    'File "',
    '.py"',
    "site-packages",
    "sqlite3",
    "aiosqlite",
    "pymongo",
    " object at 0x",
    "set_int_max_str_digits",
    "pydantic.dev",
    "RecursionError",
    "OverflowError",
    "UnicodeEncodeError",
    "UnicodeDecodeError",
    "KeyError",
    "AttributeError",
    "NoneType",
)
# Close codes a server may use on a client's mistake (graphql-transport-ws: 4400 invalid
# message, 4403 forbidden, 4409 duplicate id, 4429 too many init); 1000/1001 normal.
CLIENT_CLOSE_CODES = frozenset({1000, 1001, 4400, 4403, 4409, 4429})


def error_problems(errors: list[Any]) -> list[str]:
    problems: list[str] = []
    for error in errors:
        if not isinstance(error, dict):
            problems.append(f"error is not an object: {error!r:.200}")
            continue
        message = error.get("message")
        code = (error.get("extensions") or {}).get("code")
        if not isinstance(message, str) or not message.strip():
            problems.append(f"error without a message: {error!r:.300}")
        if code not in CLIENT_CODES:
            problems.append(f"error code {code!r}: {message!r:.300}")
    return problems


def leak_problems(text: str, sent: str) -> list[str]:
    return [f"response shows {leak!r}" for leak in LEAKS if leak in text and leak not in sent]


def http_problems(reply: Reply, sent: str) -> list[str]:
    problems: list[str] = []
    if reply.status >= 500:
        problems.append(f"HTTP {reply.status}")
    if not isinstance(reply.body, dict) or not ({"data", "errors"} & reply.body.keys()):
        problems.append(f"not a GraphQL JSON response ({reply.content_type or 'no content type'})")
    elif reply.status != 200 and not reply.errors:
        problems.append(f"HTTP {reply.status} without errors")
    problems += error_problems(reply.errors)
    problems += leak_problems(reply.text, sent)
    return problems


def ws_problems(reply: WsReply, sent: str) -> list[str]:
    problems = error_problems(reply.errors)
    if reply.close_code is not None and reply.close_code not in CLIENT_CLOSE_CODES:
        problems.append(f"server closed the socket with {reply.close_code} {reply.close_reason!r}")
    problems += leak_problems(reply.text + reply.close_reason, sent)
    return problems


def rejected(reply: Reply | WsReply) -> bool:
    """No result at all: every root field of the operation failed."""
    if isinstance(reply, WsReply):
        return bool(reply.errors) and not any(r and r.get("data") for r in reply.results)
    data = reply.data
    return bool(reply.errors) and (not isinstance(data, dict) or all(v is None for v in data.values()))


__all__ = ["CLIENT_CODES", "LEAKS", "error_problems", "http_problems", "rejected", "ws_problems"]
