"""The fan-out bench's client: subscribers in worker processes, each with its own loop.

At 10,000 subscribers one Python client process is the bottleneck long before either server
(aiohttp's client spends ~40 µs per message: a task wake-up, a queue, a message object). So
`tests/bench/fanout.py` spreads the subscribers over `--clients` worker processes, and each
worker reads its sockets with a bare `asyncio.Protocol`: `websockets`' sans-I/O client does
the opening handshake and frames (masks) what the client sends; what the server sends is
split into frames here (server frames are never masked, RFC 6455 §5.1: a 2 to 10 byte
header and the text), and each message is kept raw with the time its bytes arrived, to be
parsed after the run. The workers' loops are uvloop's. The parent drives the workers over
a pipe with a few commands.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.connection
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import uvloop
from websockets.client import ClientProtocol
from websockets.http11 import Response
from websockets.uri import parse_uri

TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"
Key = tuple[str, int]
_TEXT, _CLOSE, _PING = 0x1, 0x8, 0x9


class Subscriber(asyncio.Protocol):
    """One WebSocket, one subscription; `received` holds (arrival time, raw message)."""

    def __init__(self, url: str, protocol: str, subscribe: bytes) -> None:
        self.ws = ClientProtocol(parse_uri(url), subprotocols=[protocol], max_size=None)  # type: ignore[list-item]
        self.kind = protocol
        self.subscribe_message = subscribe
        self.received: list[tuple[float, bytes]] = []
        self.closed: str | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._open = False
        self._acked = False
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.ws.send_request(self.ws.connect())
        self._out()

    def _out(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)

    def send_text(self, text: bytes) -> None:
        self.ws.send_text(text)
        self._out()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self._open:  # the handshake: websockets checks the 101 response
            self.ws.receive_data(data)
            events = self.ws.events_received()
            if not events or not isinstance(events[0], Response):
                return
            if events[0].status_code != 101:
                self._fail(f"handshake {events[0].status_code}")
                return
            self._open = True
            data = events[0].body or b""
            self.send_text(b'{"type":"connection_init","payload":{}}')
        buffer = self._buffer + data if self._buffer else data
        at, size = 0, len(buffer)
        while size - at >= 2:
            opcode, length, start = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, at + 2
            if length == 126:
                if size - at < 4:
                    break
                length, start = int.from_bytes(buffer[at + 2 : at + 4], "big"), at + 4
            elif length == 127:
                if size - at < 10:
                    break
                length, start = int.from_bytes(buffer[at + 2 : at + 10], "big"), at + 10
            if size - start < length:
                break
            message = buffer[start : start + length]
            at = start + length
            if opcode == _TEXT:
                self._message(now, message)
            elif opcode == _PING:
                self.ws.send_pong(message)
                self._out()
            elif opcode == _CLOSE:
                code = int.from_bytes(message[:2], "big") if len(message) >= 2 else None
                self._fail(f"closed {code} {message[2:].decode(errors='replace')}")
                return
        self._buffer = buffer[at:]

    def _message(self, now: float, message: bytes) -> None:
        if self._acked:
            if b'"type":"ka"' in message:
                return
            if b'"type":"ping"' in message:
                self.send_text(b'{"type":"pong"}')
                return
            self.received.append((now, message))
        elif b'"connection_ack"' in message:
            self._acked = True
            self.send_text(self.subscribe_message)
            if not self.ready.done():
                self.ready.set_result(None)

    def _fail(self, reason: str) -> None:
        self.closed = reason
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed is None:
            self.closed = f"connection lost {exc}"
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(self.closed))


def at_seconds(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


@dataclass
class Checked:
    latencies_ms: list[float] = field(default_factory=list)
    last: float = 0.0
    bad: int = 0
    problems: list[str] = field(default_factory=list)


def check(subscribers: list[Subscriber], marks: list[int], keys: list[Key], field_name: str) -> Checked:
    """Latency of each delivery past the marks, and whether each subscriber got every key
    once, in order per instance."""
    out, expected = Checked(), set(keys)
    for subscriber, mark in zip(subscribers, marks, strict=True):
        got: list[Key] = []
        seen: dict[str, int] = {}
        order_ok = True
        for received, raw in subscriber.received[mark:]:
            message = json.loads(raw)
            if message.get("type") not in ("next", "data") or message["payload"].get("errors"):
                continue
            item = message["payload"]["data"][field_name]
            key = (item["instanceID"], item["seq"])
            out.latencies_ms.append((received - at_seconds(item["at"])) * 1000)
            out.last = max(out.last, received)
            if seen.get(key[0], 0) >= key[1]:
                order_ok = False
            seen[key[0]] = key[1]
            got.append(key)
        if set(got) != expected or len(got) != len(expected) or not order_ok:
            out.bad += 1
            if out.bad <= 3:
                out.problems.append(
                    f"subscriber got {len(got)} of {len(expected)} (missing {len(expected - set(got))}, "
                    f"doubled {len(got) - len(set(got))}, in order {order_ok}; {subscriber.closed})"
                )
    return out


async def _serve(
    conn: multiprocessing.connection.Connection, url: str, protocol: str, subscribe: bytes
) -> None:
    loop = asyncio.get_running_loop()
    subscribers: list[Subscriber] = []
    marks: list[int] = []
    parts = urlsplit(url)
    gate = asyncio.Semaphore(32)

    async def one() -> Subscriber:
        async with gate:
            _, subscriber = await loop.create_connection(
                lambda: Subscriber(url, protocol, subscribe), parts.hostname, parts.port
            )
            await asyncio.wait_for(subscriber.ready, 60)
            return subscriber

    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        reply: Any = None
        if command == "subscribe":
            subscribers += await asyncio.gather(*(one() for _ in range(args[0])))
        elif command == "mark":
            marks = [len(s.received) for s in subscribers]
            reply = time.process_time()
        elif command == "wait":
            count, deadline = args[0], time.monotonic() + args[1]
            while time.monotonic() < deadline:
                if all(len(s.received) - m >= count for s, m in zip(subscribers, marks, strict=True)):
                    reply = True
                    break
                await asyncio.sleep(0.05)
            else:
                reply = False
        elif command == "cpu":
            reply = time.process_time()
        elif command == "check":
            reply = check(subscribers, marks, args[0], args[1])
        elif command == "close":
            for subscriber in subscribers:
                if subscriber.transport is not None:
                    subscriber.transport.close()
            conn.send(None)
            return
        conn.send(reply)


def _worker(conn: multiprocessing.connection.Connection, url: str, protocol: str, subscribe: bytes) -> None:
    uvloop.run(_serve(conn, url, protocol, subscribe))  # a third of asyncio's cost per read


class Clients:
    """`processes` worker processes holding `subscribers` subscriptions between them."""

    def __init__(
        self, processes: int, ws_url: str, protocol: str, document: str, variables: dict[str, object]
    ) -> None:
        kind = "subscribe" if protocol == TRANSPORT_WS else "start"
        message = json.dumps(
            {"id": "1", "type": kind, "payload": {"query": document, "variables": variables}}
        )
        context = multiprocessing.get_context("spawn")
        self._pipes: list[multiprocessing.connection.Connection] = []
        self._processes = []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(
                target=_worker, args=(child, ws_url, protocol, message.encode()), daemon=True
            )
            process.start()
            self._pipes.append(parent)
            self._processes.append(process)

    async def _all(self, *command: object) -> list[Any]:
        loop = asyncio.get_running_loop()
        for pipe in self._pipes:
            pipe.send(command)
        return [await loop.run_in_executor(None, pipe.recv) for pipe in self._pipes]

    async def subscribe(self, count: int) -> None:
        loop, share = asyncio.get_running_loop(), -(-count // len(self._pipes))
        for n, pipe in enumerate(self._pipes):
            pipe.send(("subscribe", max(0, min(share, count - n * share))))
        for pipe in self._pipes:
            await loop.run_in_executor(None, pipe.recv)

    async def mark(self) -> float:
        """Deliveries from now on are the ones measured; the workers' CPU time so far."""
        return float(sum(await self._all("mark")))

    async def wait(self, count: int, timeout: float) -> bool:
        return all(await self._all("wait", count, timeout))

    async def cpu(self) -> float:
        """The workers' CPU time so far."""
        return float(sum(await self._all("cpu")))

    async def check(self, keys: list[Key], field_name: str) -> Checked:
        total = Checked()
        for checked in await self._all("check", keys, field_name):
            total.latencies_ms += checked.latencies_ms
            total.last = max(total.last, checked.last)
            total.bad += checked.bad
            total.problems += checked.problems
        return total

    async def close(self) -> None:
        await self._all("close")
        for process in self._processes:
            process.join(10)
            if process.is_alive():
                process.kill()


__all__ = ["LEGACY_WS", "TRANSPORT_WS", "Checked", "Clients", "Key", "Subscriber", "check"]
