"""The outbound side of one WebSocket: every frame in order, never waiting for the peer.

A shared subscription execution hands the same `next` payload to hundreds of sockets in one
synchronous loop; awaiting each socket's write would let the slowest reader set the pace
for all. So a frame is only appended here, and the frames appended during one turn of the
event loop go out in a single transport write (one syscall per socket and turn, however
many messages: WebSocket messages cannot be merged in either GraphQL protocol, but their
frames can share a write). Strawberry's own messages (ack, pong, error, complete) take the
same path, so a `complete` never overtakes the `next` frames before it.

Overflow policy: the bytes written to a socket that the kernel could not take yet (the
transport's buffer; the kernel's socket buffers fill first) are bounded by `limit`; one
turn's frames are written whatever their size, so a message larger than the limit still
goes out to a reader that keeps up. A socket past the limit is closed with 1013 (try
again later) and a reason; graphql-ws clients
reconnect on 1013 and resubscribe, and the subscription replays from the store. A peer
that does not even read the close frame is cut off after `close_timeout` seconds. The
other sockets of the same execution are not delayed at any point.

Frames are written straight to the transport: server frames are unmasked and, with
permessage-deflate declined (view.py), uncompressed, so a text frame is a 2 to 10 byte
header and the text (RFC 6455 §5.2). aiohttp writes its own frames (pings, close) whole
on the same transport, so frames never interleave.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013
DEFAULT_LIMIT = 64 * 1024
_TEXT = 0x81  # FIN + text opcode


def text_frame(data: bytes) -> bytes:
    """The header of an unmasked, unfragmented text frame carrying `data`, then `data`."""
    size = len(data)
    if size < 126:
        return bytes((_TEXT, size)) + data
    if size < 65536:
        return struct.pack("!BBH", _TEXT, 126, size) + data
    return struct.pack("!BBQ", _TEXT, 127, size) + data


class Outbox:
    __slots__ = (
        "_close_timeout",
        "_closer",
        "_limit",
        "_on_overflow",
        "_pending",
        "_transport",
        "_ws",
        "closed",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        *,
        limit: int = DEFAULT_LIMIT,
        close_timeout: float = 5.0,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._limit = limit
        self._close_timeout = close_timeout
        self._on_overflow = on_overflow
        self._pending: list[bytes] = []
        self._closer: asyncio.Task[None] | None = None
        self.closed = False

    def send(self, text: bytes) -> None:
        """Queue one message (UTF-8 JSON); it is written at the end of this loop turn."""
        if self.put(text_frame(text)):
            asyncio.get_running_loop().call_soon(self.flush)

    def put(self, frame: bytes) -> bool:
        """Queue one whole frame (`text_frame`) without scheduling its write: True when it
        is the first one queued, and the caller must then `flush` (the fan-out pump writes
        each socket it touched once, at the end of its slice)."""
        if self.closed:
            return False
        if self._ws.closed or self._transport.is_closing():
            self.closed = True
            self._pending.clear()
            return False
        backlog = self._transport.get_write_buffer_size()  # what the kernel did not take
        if backlog > self._limit:
            self._overflow(backlog)
            return False
        pending = self._pending
        pending.append(frame)
        return len(pending) == 1

    def flush(self) -> None:
        """Write what is queued now (also called before a close, so the close comes last)."""
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if not self.closed and not self._transport.is_closing():
            self._transport.write(data)

    def _overflow(self, backlog: int) -> None:
        self.closed = True
        self._pending.clear()
        if self._on_overflow is not None:
            self._on_overflow()
        reason = f"too slow: {backlog} bytes unread; reconnect and subscribe again"
        log.warning("slow WebSocket closed", extra={"backlog": backlog, "limit": self._limit})
        self._closer = asyncio.get_running_loop().create_task(self._close(reason))

    async def _close(self, reason: str) -> None:
        try:
            async with asyncio.timeout(self._close_timeout):
                await self._ws.close(code=TRY_AGAIN_LATER, message=reason.encode())
        except (TimeoutError, ConnectionError):
            self._transport.abort()


__all__ = ["DEFAULT_LIMIT", "TRY_AGAIN_LATER", "Outbox", "text_frame"]
