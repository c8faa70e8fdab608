"""The per-socket outbox: RFC 6455 text frames, one transport write per loop turn, and the
overflow policy (1013 with a reason, nothing more written, a peer that never answers cut):
too many bytes left unsent, or a ping of ours left unanswered once the kernel took it."""

from __future__ import annotations

import asyncio
import struct

import pytest

from flowql import ws_outbox
from flowql.ws_outbox import PROBE_EVERY, TRY_AGAIN_LATER, Outbox, pong_frame, text_frame

PING = 0x89  # FIN + ping


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.pinged: list[bytes] = []
        self.buffered = 0
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        if data[0] == PING:  # the outbox's pings go in writes of their own
            self.pinged.append(data)
        else:
            self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> None:
        return None


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


class Woken:
    """The reading task's side: counts the outbox's requests to close the socket."""

    def __init__(self) -> None:
        self.times = 0

    def __call__(self) -> None:
        self.times += 1


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """(first byte: FIN + opcode, data) of each unmasked frame in `data`."""
    out = []
    while data:
        size, at = data[1], 2
        assert size < 128  # unmasked
        if size == 126:
            (size,), at = struct.unpack("!H", data[2:4]), 4
        elif size == 127:
            (size,), at = struct.unpack("!Q", data[2:10]), 10
        out.append((data[0], data[at : at + size]))
        data = data[at + size :]
    return out


def parse_frames(data: bytes) -> list[bytes]:
    """The text frames' data (our pings left out)."""
    parsed = [frame for frame in frames(data) if frame[0] != PING]
    assert all(first == 0x81 for first, _ in parsed)  # FIN, text
    return [payload for _, payload in parsed]


def pings(transport: Transport) -> list[bytes]:
    return [payload for data in transport.pinged for first, payload in frames(data) if first == PING]


def outbox_of(ws: Socket, transport: Transport, **options: object) -> tuple[Outbox, Woken]:
    woken = Woken()
    return Outbox(ws, transport, woken, **options), woken  # type: ignore[arg-type]


def test_text_frames_of_every_length_class() -> None:
    for size in (0, 125, 126, 65535, 65536, 70000):
        payload = b"x" * size
        assert parse_frames(text_frame(payload)) == [payload]


async def test_messages_of_one_turn_share_one_write() -> None:
    transport, ws = Transport(), Socket()
    outbox, _ = outbox_of(ws, transport)
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
    outbox, woken = outbox_of(ws, transport, limit=1000, on_overflow=lambda: overflows.append(None))
    outbox.send(b"x" * 500)
    await asyncio.sleep(0)
    transport.buffered = 1600  # the peer did not take it, nor 1,100 bytes before
    outbox.send(b"next")
    outbox.send(b"and more")
    await asyncio.sleep(0.01)
    assert len(transport.writes) == 1 and overflows == [None] and woken.times == 1
    assert outbox.closed and ws.close_calls == []  # the reading task closes it
    await outbox.close()
    [(code, reason)] = ws.close_calls
    assert (
        code == TRY_AGAIN_LATER and b"too slow: 1600 bytes unread" in reason and b"subscribe again" in reason
    )
    assert len(reason) <= 123  # a close reason's limit
    assert not transport.aborted


async def test_a_message_larger_than_the_limit_and_what_follows_reach_a_reader() -> None:
    """The limit counts past the largest write the kernel still holds (the fuzzer's 400 KB
    error, then its `complete`, closed a reader that kept up)."""
    transport, ws = Transport(), Socket()
    outbox, woken = outbox_of(ws, transport, limit=1000)
    outbox.send(b"x" * 5000)
    await asyncio.sleep(0)
    transport.buffered = 4000  # the kernel took 1 KB of it so far
    outbox.send(b"next")
    await asyncio.sleep(0)
    transport.buffered = 4600  # still reading the big one, plus 600 bytes more
    outbox.send(b"complete")
    await asyncio.sleep(0)
    assert [len(frames(data)) for data in transport.writes] == [1, 1, 1] and woken.times == 0
    transport.buffered = 5004 + 1001  # the whole message and more than the limit behind it
    outbox.send(b"one too many")
    assert outbox.closed and woken.times == 1
    transport.buffered = 0


async def test_a_peer_that_never_answers_the_close_is_cut_off() -> None:
    transport, ws = Transport(), Socket(hang=True)
    outbox, woken = outbox_of(ws, transport, limit=10, close_timeout=0.05)
    transport.buffered = 11
    outbox.send(b"x")
    assert woken.times == 1
    await outbox.close()
    assert ws.close_calls and transport.aborted


async def test_nothing_is_written_to_a_closing_transport() -> None:
    transport, ws = Transport(), Socket()
    outbox, _ = outbox_of(ws, transport)
    outbox.send(b"a")
    transport.closing = True
    await asyncio.sleep(0)
    outbox.send(b"b")
    await asyncio.sleep(0)
    assert transport.writes == [] and outbox.closed


async def test_the_first_write_and_then_every_few_kib_are_followed_by_a_ping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ws_outbox, "PROBE_INTERVAL", 0.05)
    transport, ws = Transport(), Socket()
    outbox, _ = outbox_of(ws, transport)
    outbox.send(b"ack")
    await asyncio.sleep(0)
    assert [frames(data) for data in transport.writes] == [[(0x81, b"ack")]] and pings(transport) == [b"1"]
    outbox.pong(b"1")
    await asyncio.sleep(0.06)
    outbox.send(b"small")
    await asyncio.sleep(0)
    assert pings(transport) == [b"1"]  # PROBE_INTERVAL passed, but not PROBE_EVERY bytes
    message = b"m" * 1000
    for _ in range(PROBE_EVERY // 1000):  # 4 KiB less a few bytes
        outbox.send(message)
        await asyncio.sleep(0)
    assert pings(transport) == [b"1"]
    outbox.send(message)
    await asyncio.sleep(0)
    assert pings(transport) == [b"1", b"2"]
    for _ in range(2 * PROBE_EVERY // 1000):
        outbox.send(message)
        await asyncio.sleep(0)
    assert pings(transport) == [b"1", b"2"]  # one ping awaits its pong at a time
    outbox.pong(b"other")  # not ours (aiohttp's heartbeat pings carry nothing)
    outbox.send(message)
    await asyncio.sleep(0)
    assert pings(transport) == [b"1", b"2"]
    outbox.pong(b"2")
    outbox.send(message)  # PROBE_EVERY written since ping 2, but not PROBE_INTERVAL since its pong
    await asyncio.sleep(0)
    assert pings(transport) == [b"1", b"2"]
    await asyncio.sleep(0.06)
    outbox.send(message)
    await asyncio.sleep(0)
    assert pings(transport) == [b"1", b"2", b"3"]
    assert not outbox.closed


async def test_a_ping_left_unanswered_after_the_kernel_took_it_closes_the_socket() -> None:
    transport, ws = Transport(), Socket()
    overflows: list[None] = []
    outbox, woken = outbox_of(ws, transport, pong_timeout=0.05, on_overflow=lambda: overflows.append(None))
    transport.buffered = 10  # the ack and its ping stay in the transport
    outbox.send(b"ack")
    await asyncio.sleep(0.1)
    outbox.send(b"x")
    await asyncio.sleep(0)
    assert not outbox.closed  # the kernel has not taken the ping: its clock has not started
    transport.buffered = 0  # now it has
    outbox.send(b"y")
    await asyncio.sleep(0)
    assert not outbox.closed
    await asyncio.sleep(0.1)
    assert not outbox.closed  # nothing sent to it meanwhile: an idle socket is not judged here
    outbox.send(b"z")
    assert outbox.closed and woken.times == 1 and overflows == [None]
    await outbox.close()
    [(code, reason)] = ws.close_calls
    assert code == TRY_AGAIN_LATER and b"too slow: no answer to a ping for 0.05 s" in reason


async def test_a_silent_peer_is_closed_at_the_first_result_after_the_timeout() -> None:
    transport, ws = Transport(), Socket()
    outbox, woken = outbox_of(ws, transport, pong_timeout=0.05)
    outbox.send(b"ack")
    await asyncio.sleep(0.1)  # the kernel took the ack and its ping at once
    outbox.send(b"first result")
    assert outbox.closed and woken.times == 1


async def test_a_reader_that_answers_is_never_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws_outbox, "PROBE_INTERVAL", 0.0)
    transport, ws = Transport(), Socket()
    outbox, _ = outbox_of(ws, transport, pong_timeout=0.02)
    for _ in range(10):
        outbox.send(b"r" * PROBE_EVERY)
        await asyncio.sleep(0.03)  # longer than the pong timeout, but each ping is answered
        outbox.pong(pings(transport)[-1])
    assert not outbox.closed and len(pings(transport)) == 10


def test_a_pong_frame() -> None:
    assert pong_frame(b"abc") == b"\x8a\x03abc"
