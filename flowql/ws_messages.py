"""WebSocket messages checked for shape before Strawberry's protocol handlers read them.

Strawberry's handlers index into messages as their TypedDicts promise: a message that is a
list, a `start` without `payload`, a `query` that is a number or `variables` that are a
string raised inside the handler (a dropped connection or an INTERNAL error, and a
traceback in the log). Both protocols treat such a message as invalid here: the socket is
closed with 4400 and a reason naming the field (graphql-transport-ws: "invalid message").

Every message out goes through the socket's `Outbox` (ws_outbox.py): in order with the
frames of shared subscription executions, and never awaiting the peer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from aiohttp import web
from strawberry.aiohttp.views import AiohttpWebSocketAdapter
from strawberry.http.async_base_view import AsyncBaseHTTPView

from .ws_outbox import Outbox

INVALID_MESSAGE = 4400
_OPERATION_TYPES = ("subscribe", "start")  # graphql-transport-ws, legacy graphql-ws
_ID_TYPES = (*_OPERATION_TYPES, "complete", "stop")


def message_problem(message: object) -> str | None:
    """Why `message` is not a well-formed protocol message, or None."""
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    if not isinstance(message.get("type"), str):
        return "type: must be a string"
    if "id" in message and not isinstance(message["id"], str):
        return "id: must be a string"
    if message["type"] in _ID_TYPES and not isinstance(message.get("id"), str):
        return "id: must be a string"
    if message["type"] not in _OPERATION_TYPES:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "payload: must be an object with the operation"
    return _payload_problem(payload)


def _payload_problem(payload: dict[str, Any]) -> str | None:
    if not isinstance(payload.get("query"), str):
        return "payload.query: must be a string"
    for key in ("variables", "extensions"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            return f"payload.{key}: must be an object"
    if payload.get("operationName") is not None and not isinstance(payload["operationName"], str):
        return "payload.operationName: must be a string"
    return None


class CheckedWebSocketAdapter(AiohttpWebSocketAdapter):
    """Strawberry's aiohttp adapter; a malformed message closes the socket (4400), and a
    message for a socket that is gone is dropped (an operation still running when the
    socket closed raised out of its task into the error log)."""

    def __init__(
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any],
        request: web.Request,
        ws: web.WebSocketResponse,
    ) -> None:
        super().__init__(view, request, ws)
        transport = request.transport
        assert transport is not None, "a prepared WebSocket has a transport"
        self.outbox: Outbox = view.make_outbox(ws, transport)  # type: ignore[attr-defined]

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        self.outbox.send(encoded if isinstance(encoded, bytes) else encoded.encode())

    async def close(self, code: int, reason: str) -> None:
        self.outbox.flush()  # what was sent before the close goes out before it
        await super().close(code, reason)

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
            problem = message_problem(message)
            if problem is not None:
                await self.close(INVALID_MESSAGE, f"invalid message: {problem}")
                return
            yield message


__all__ = ["INVALID_MESSAGE", "CheckedWebSocketAdapter", "message_problem"]
