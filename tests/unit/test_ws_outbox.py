"""The per-socket outbox: RFC 6455 text frames, one transport write per loop turn, and the
overflow policy (1013 with a reason, nothing more written, a peer that never answers cut)."""

from __future__ import annotations

import asyncio
import struct

from flowql.ws_outbox import TRY_AGAIN_LATER, Outbox, text_frame


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffered = 0
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.aborted = True


class Socket:
    def __init__(self, hang: bool = False) -> None:
        self.closed = False
        self.close_calls: list[tuple[int, bytes]] = []
        self.hang = hang

    async def close(self, *, code: int, message: bytes) -> None:
        self.closed = True
        self.close_calls.append((code, message))
        if self.hang:
            await asyncio.Event().wait()


def parse_frames(data: bytes) -> list[bytes]:
    out = []
    while data:
        assert data[0] == 0x81  # FIN, text, unmasked
        size, at = data[1], 2
        if size == 126:
            (size,), at = struct.unpack("!H", data[2:4]), 4
        elif size == 127:
            (size,), at = struct.unpack("!Q", data[2:10]), 10
        out.append(data[at : at + size])
        data = data[at + size :]
    return out


def test_text_frames_of_every_length_class() -> None:
    for size in (0, 125, 126, 65535, 65536, 70000):
        payload = b"x" * size
        assert parse_frames(text_frame(payload)) == [payload]


async def test_messages_of_one_turn_share_one_write() -> None:
    transport, ws = Transport(), Socket()
    outbox = Outbox(ws, transport)  # type: ignore[arg-type]
    for n in range(3):
        outbox.send(f'{{"n":{n}}}'.encode())
    assert transport.writes == []  # written at the end of the turn
    await asyncio.sleep(0)
    assert len(transport.writes) == 1
    assert parse_frames(transport.writes[0]) == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    outbox.send(b"later")
    outbox.flush()  # a close flushes first
    assert parse_frames(transport.writes[1]) == [b"later"]
    await asyncio.sleep(0)
    assert len(transport.writes) == 2


async def test_past_the_limit_the_socket_is_closed_with_1013() -> None:
    transport, ws = Transport(), Socket()
    overflows: list[None] = []
    outbox = Outbox(ws, transport, limit=1000, on_overflow=lambda: overflows.append(None))  # type: ignore[arg-type]
    outbox.send(b"x" * 5000)  # one message larger than the limit still goes to a reader that keeps up
    await asyncio.sleep(0)
    transport.buffered = 1001  # the peer did not take it
    outbox.send(b"next")
    outbox.send(b"and more")
    await asyncio.sleep(0.01)
    assert len(transport.writes) == 1 and overflows == [None]
    [(code, reason)] = ws.close_calls
    assert (
        code == TRY_AGAIN_LATER and b"too slow: 1001 bytes unread" in reason and b"subscribe again" in reason
    )
    assert len(reason) <= 123  # a close reason's limit
    assert not transport.aborted


async def test_a_peer_that_never_answers_the_close_is_cut_off() -> None:
    transport, ws = Transport(), Socket(hang=True)
    outbox = Outbox(ws, transport, limit=10, close_timeout=0.05)  # type: ignore[arg-type]
    transport.buffered = 11
    outbox.send(b"x")
    await asyncio.sleep(0.2)
    assert ws.close_calls and transport.aborted


async def test_nothing_is_written_to_a_closing_transport() -> None:
    transport, ws = Transport(), Socket()
    outbox = Outbox(ws, transport)  # type: ignore[arg-type]
    outbox.send(b"a")
    transport.closing = True
    await asyncio.sleep(0)
    outbox.send(b"b")
    await asyncio.sleep(0)
    assert transport.writes == [] and outbox.closed
