"""WebSocket messages checked for shape before Strawberry's protocol handlers read them.

Strawberry's handlers index into messages as their TypedDicts promise: a message that is a
list, a `start` without `payload`, a `query` that is a number or `variables` that are a
string raised inside the handler (a dropped connection or an INTERNAL error, and a
traceback in the log). Both protocols treat such a message as invalid here: the socket is
closed with 4400 and a reason naming the field (graphql-transport-ws: "invalid message").

Every message out goes through the socket's `Outbox` (ws_outbox.py): in order with the
frames of shared subscription executions, and never awaiting the peer. Pings and pongs are
handled here too (the socket is made with `autoping=False`): a ping is answered through
the outbox, a pong goes to it (it pings a peer that is sent a lot, to tell a reader from a
silent one). When the outbox finds the peer too slow, it wakes the receive here and the
loop ends: Strawberry's handler then ends the socket's operations (its subscribers leave
their executions at once) and the view closes the socket (1013) once no one waits in
`receive()`. aiohttp's `close()` from another task while one waits there shuts the TCP
connection right after its close frame, and a pong still on its way then draws an RST
that makes the server's kernel drop the close frame it still holds (the client saw 1006);
with no receive waiting, aiohttp reads on until the peer's close frame first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from json import JSONDecodeError
from typing import Any

from aiohttp import WSMessage, WSMsgType, web
from strawberry.aiohttp.views import AiohttpWebSocketAdapter
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived

from .ws_outbox import Outbox, pong_frame

INVALID_MESSAGE = 4400
_CLOSED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
OUTBOX = web.RequestKey("flowql.outbox", Outbox)
"""The WebSocket's outbox, on its upgrade request."""
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
        self.outbox: Outbox = view.make_outbox(ws, transport, self._wake)  # type: ignore[attr-defined]
        request[OUTBOX] = self.outbox
        self._receiving: asyncio.Timeout | None = None
        """The scope of the receive in progress: the outbox's `wake` ends it."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        self.outbox.send(encoded if isinstance(encoded, bytes) else encoded.encode())

    async def close(self, code: int, reason: str) -> None:
        self.outbox.flush()  # what was sent before the close goes out before it
        await super().close(code, reason)

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        """Strawberry's loop (text messages as JSON, binary refused), with pings answered,
        pongs passed to the outbox and, once it gives up on the peer, the close (1013)."""
        while (received := await self._receive()) is not None:
            kind = received.type
            if kind is WSMsgType.TEXT:
                try:
                    message = self.view.decode_json(received.data)
                except JSONDecodeError as error:
                    if ignore_parsing_errors:
                        continue
                    raise NonJsonMessageReceived from error
                problem = message_problem(message)
                if problem is not None:
                    await self.close(INVALID_MESSAGE, f"invalid message: {problem}")
                    return
                yield message
            elif kind is WSMsgType.BINARY:
                raise NonTextMessageReceived
            elif kind is WSMsgType.PING:
                self.outbox.send_frame(pong_frame(received.data))
            elif kind is WSMsgType.PONG:
                self.outbox.pong(received.data)
            elif kind in _CLOSED:
                return
        # Too slow: the view closes the socket once Strawberry's handler is done (see above).

    async def _receive(self) -> WSMessage | None:
        """The next message, or None once the outbox asks for the socket's close."""
        if self.outbox.reason is not None:
            return None
        scope = self._receiving = asyncio.timeout(None)
        try:
            async with scope:
                return await self.ws.receive()
        except TimeoutError:
            if scope.expired():
                return None
            raise
        finally:
            self._receiving = None

    def _wake(self) -> None:
        if self._receiving is not None:
            self._receiving.reschedule(-1.0)  # a time past: the receive ends at once


__all__ = ["INVALID_MESSAGE", "OUTBOX", "CheckedWebSocketAdapter", "message_problem"]
