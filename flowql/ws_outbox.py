"""The outbound side of one WebSocket: every frame in order, never waiting for the peer.

A shared subscription execution hands the same `next` payload to hundreds of sockets in one
synchronous loop; awaiting each socket's write would let the slowest reader set the pace
for all. So a frame is only appended here, and the frames appended during one turn of the
event loop go out in a single transport write (one syscall per socket and turn, however
many messages: WebSocket messages cannot be merged in either GraphQL protocol, but their
frames can share a write). Strawberry's own messages (ack, pong, error, complete) and the
pongs to the peer's pings take the same path, so a `complete` never overtakes the `next`
frames before it.

Overflow policy: a socket is too slow, and closed with 1013 (try again later) and a reason,
when either
- the bytes written to it that the kernel could not take yet (the transport's buffer) pass
  `limit` plus the largest write since that buffer was last empty (one turn's frames are
  written whatever their size, so a message larger than the limit, and what follows it,
  still go out to a reader that keeps up: the fuzzer's 400 KB error was followed by its
  `complete` while the kernel still held most of it), or
- it is sent something while a ping of ours waits for its pong more than `pong_timeout`
  seconds after the kernel took it. Only a pong shows that the peer read what came before
  it; the kernel's buffers cannot: a peer that never reads still has its kernel take
  ~120 KB (its receive buffer) before anything backs up here. The first write (the
  connection's ack) carries a ping, then one follows once `PROBE_EVERY` bytes and
  `PROBE_INTERVAL` seconds passed since the last pong (one ping awaits its pong at a
  time: a busy reader answers about one a second). So a subscriber that never reads is
  closed at the first result sent to it `pong_timeout` after it connected, whatever its
  buffers, and one that stops reading a few seconds later; a reader that keeps up answers
  each ping as it reads (every WebSocket client does; browsers in their network stack). An
  idle socket is not pinged here: that is aiohttp's heartbeat (view.py).
graphql-ws clients reconnect on 1013 and resubscribe, and the subscription replays from the
store. The close itself is done by the socket's own task once its receive loop ended
(`wake` ends it; ws_messages.py): aiohttp then sends the close frame and reads on until the
peer's close frame, so the pongs still on their way do not meet a closed socket (whose RST
would make the server's kernel drop the close frame it still holds: the client saw 1006
instead of 1013). A peer that does not take the close frame within `close_timeout` seconds
is cut off. The other sockets of the same execution are not delayed at any point.

The kernel's send buffer is left as Linux autotunes it: a small SO_SNDBUF (32 KiB, tried)
made the byte limit judge what the kernel used to take, so a reader that keeps up was closed
when one large message (a 440 KB error echoing a variable) was followed by another.

Frames are written straight to the transport: server frames are unmasked and, with
permessage-deflate declined (view.py), uncompressed, so a frame is a 2 to 10 byte header and
the data (RFC 6455 §5.2). aiohttp writes its own frames (heartbeat pings, close) whole on
the same transport, so frames never interleave.
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
DEFAULT_PONG_TIMEOUT = 2.0
"""Seconds a peer may take to answer a ping the kernel took (FLOWQL_WS_PONG_TIMEOUT)."""
PROBE_EVERY = 4 * 1024
"""Bytes written, at least, between a pong and the next ping that checks the peer reads."""
PROBE_INTERVAL = 1.0
"""Seconds, at least, between a pong and the next ping."""
_TEXT = 0x81  # FIN + text opcode
_PING = 0x89
_PONG = 0x8A


def text_frame(data: bytes) -> bytes:
    """The header of an unmasked, unfragmented text frame carrying `data`, then `data`."""
    size = len(data)
    if size < 126:
        return bytes((_TEXT, size)) + data
    if size < 65536:
        return struct.pack("!BBH", _TEXT, 126, size) + data
    return struct.pack("!BBQ", _TEXT, 127, size) + data


def pong_frame(data: bytes) -> bytes:
    """The answer to a ping carrying `data` (at most 125 bytes, RFC 6455 §5.5)."""
    return bytes((_PONG, len(data))) + data


class Outbox:
    __slots__ = (
        "_close_timeout",
        "_largest",
        "_limit",
        "_loop",
        "_on_overflow",
        "_pending",
        "_pong_timeout",
        "_probe",
        "_probe_after",
        "_probe_due",
        "_probe_end",
        "_probe_taken_at",
        "_probes",
        "_transport",
        "_wake",
        "_written",
        "_ws",
        "closed",
        "reason",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        wake: Callable[[], None],
        *,
        limit: int = DEFAULT_LIMIT,
        pong_timeout: float = DEFAULT_PONG_TIMEOUT,
        close_timeout: float = 5.0,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._wake = wake
        """Ends the socket's receive loop (it may be waiting for a message); then `close`."""
        self._limit = limit
        self._pong_timeout = pong_timeout
        self._close_timeout = close_timeout
        self._on_overflow = on_overflow
        self._loop = asyncio.get_running_loop()
        self._pending: list[bytes] = []
        self._written = 0
        """Bytes handed to the transport; minus its buffer, what the kernel took."""
        self._largest = 0
        """The largest write since the transport's buffer was last seen empty."""
        self._probes = 0
        self._probe: bytes | None = None
        """The payload of our ping awaiting its pong."""
        self._probe_end = 0
        """`_written` just after that ping."""
        self._probe_taken_at: float | None = None
        """When the kernel was first seen to have taken it."""
        self._probe_due = 0
        """`_written` from which the next ping may go (the first write carries one)."""
        self._probe_after = 0.0
        """Loop time from which the next ping may go."""
        self.closed = False
        self.reason: str | None = None
        """Why the socket is being closed as too slow (1013), once it is."""

    def send(self, text: bytes) -> None:
        """Queue one message (UTF-8 JSON); it is written at the end of this loop turn."""
        self.send_frame(text_frame(text))

    def send_frame(self, frame: bytes) -> None:
        """Queue one whole frame; it is written at the end of this loop turn."""
        if self.put(frame):
            self._loop.call_soon(self.flush)

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
        if backlog > self._limit + self._largest:
            self._overflow(f"{backlog} bytes unread")
            return False
        if self._probe is not None and self._unanswered(backlog):
            self._overflow(f"no answer to a ping for {self._pong_timeout:g} s")
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
        if self.closed or self._transport.is_closing():
            return
        self._written += len(data)
        drained = not self._transport.get_write_buffer_size()
        self._largest = len(data) if drained else max(self._largest, len(data))
        if (
            self._probe is None
            and self._written >= self._probe_due
            and self._loop.time() >= self._probe_after
        ):
            self._transport.write(data)
            self._ping()
            return
        self._transport.write(data)

    def _ping(self) -> None:
        # Its own write: `data` may be a frame shared by many sockets (fanout_pump.py).
        self._probes += 1
        probe = self._probe = b"%d" % self._probes
        self._transport.write(bytes((_PING, len(probe))) + probe)
        self._written += len(probe) + 2
        self._probe_end = self._written
        if not self._transport.get_write_buffer_size():  # the kernel took it at once
            self._probe_taken_at = self._loop.time()

    def pong(self, payload: bytes) -> None:
        """The peer answered a ping; if it was ours, it read everything written before it."""
        if self._probe is not None and payload == self._probe:
            self._probe, self._probe_taken_at = None, None
            self._probe_due = self._probe_end + PROBE_EVERY
            self._probe_after = self._loop.time() + PROBE_INTERVAL

    async def close(self) -> None:
        """Close the socket as too slow (1013 and `reason`), once `wake` ended its receive
        loop. aiohttp sends the close frame after what the transport holds, then reads (and
        drops) what the peer still sends until its close frame."""
        reason = self.reason or "too slow"
        try:
            async with asyncio.timeout(self._close_timeout):
                await self._ws.close(code=TRY_AGAIN_LATER, message=reason.encode())
        except (TimeoutError, ConnectionError):
            self._transport.abort()

    def _unanswered(self, backlog: int) -> bool:
        """Whether our ping has waited for its pong too long since the kernel took it."""
        now = self._loop.time()
        if self._probe_taken_at is None:
            if self._written - backlog >= self._probe_end:
                self._probe_taken_at = now
            return False
        return now - self._probe_taken_at > self._pong_timeout

    def _overflow(self, why: str) -> None:
        self.closed = True
        self._pending.clear()
        if self._on_overflow is not None:
            self._on_overflow()
        self.reason = f"too slow: {why}; reconnect and subscribe again"
        log.warning("slow WebSocket closed", extra={"why": why, "limit": self._limit})
        self._wake()


__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_PONG_TIMEOUT",
    "PROBE_EVERY",
    "PROBE_INTERVAL",
    "TRY_AGAIN_LATER",
    "Outbox",
    "pong_frame",
    "text_frame",
]
