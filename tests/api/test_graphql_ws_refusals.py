"""Malformed WebSocket messages close the socket with 4400 and a reason, on both protocols
(found by tests/e2e/test_graphql_fuzz.py: `variables` that were not an object were an
INTERNAL error; a list, a `start` without payload or a numeric `query` crashed Strawberry's
handlers with a traceback in the log and a dropped connection)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientConnectionResetError

from flowql.ws_messages import CheckedWebSocketAdapter
from flowql.ws_outbox import Outbox
from tests.api.client import LEGACY_WS, TRANSPORT_WS, Api

SUBSCRIPTION = "subscription($id: ID!) { stageTransitions(instanceID: $id) { seq } }"


def operation(protocol: str, **payload: object) -> dict[str, object]:
    return {"id": "1", "type": "subscribe" if protocol == TRANSPORT_WS else "start", "payload": payload}


CASES = {
    "variables a number": (lambda p: operation(p, query=SUBSCRIPTION, variables=5), "payload.variables"),
    "variables a string": (lambda p: operation(p, query=SUBSCRIPTION, variables="x"), "payload.variables"),
    "query a number": (lambda p: operation(p, query=5), "payload.query"),
    "query missing": (lambda p: operation(p), "payload.query"),
    "no payload": (lambda p: {"id": "1", "type": "subscribe" if p == TRANSPORT_WS else "start"}, "payload"),
    "operationName a number": (lambda p: operation(p, query=SUBSCRIPTION, operationName=5), "operationName"),
    "extensions a list": (lambda p: operation(p, query=SUBSCRIPTION, extensions=[]), "payload.extensions"),
    "id a number": (lambda p: {**operation(p, query=SUBSCRIPTION), "id": 1}, "id"),
    "a list": (lambda p: [1, 2], "JSON object"),
    "type a number": (lambda p: {"type": 5}, "type"),
    "stop or complete without id": (lambda p: {"type": "complete" if p == TRANSPORT_WS else "stop"}, "id"),
}


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS], ids=["transport-ws", "legacy-ws"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
async def test_malformed_message_closes_with_4400(
    api: Api, protocol: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    build, field = CASES[case]
    async with api.session.ws_connect(api.ws_url, protocols=[protocol]) as ws:
        await ws.send_str('{"type": "connection_init"}')
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_str(json.dumps(build(protocol)))
        message = await ws.receive(timeout=5)
        while message.type == aiohttp.WSMsgType.TEXT:  # legacy keep-alive ("ka")
            assert json.loads(message.data)["type"] == "ka", message.data
            message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4400
    assert message.extra.startswith("invalid message: ") and field in message.extra
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_well_formed_messages_still_work(api: Api) -> None:
    async with api.session.ws_connect(api.ws_url, protocols=[TRANSPORT_WS]) as ws:
        await ws.send_str('{"type": "connection_init", "payload": {}}')
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_str(
            json.dumps(
                operation(TRANSPORT_WS, query=SUBSCRIPTION, variables={"id": "nope"}, operationName=None)
            )
        )
        error = await ws.receive_json(timeout=5)
    assert error["type"] in ("error", "next")
    errors = error["payload"] if error["type"] == "error" else error["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


class _GoneSocket:
    """An aiohttp WebSocket whose peer vanished while `closed` was not yet set."""

    closed = False


class _GoneTransport:
    def __init__(self, closing: bool) -> None:
        self.closing = closing
        self.written: list[bytes] = []

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> None:
        return None

    def write(self, data: bytes) -> None:
        if self.closing:
            raise ClientConnectionResetError("Cannot write to closing transport")
        self.written.append(data)


class _Request(dict[object, object]):
    """An upgrade request: its transport, and keys set on it."""

    def __init__(self, transport: _GoneTransport) -> None:
        super().__init__()
        self.transport = transport


class _View:
    def encode_json(self, data: object) -> str:
        return json.dumps(data)

    def make_outbox(self, ws: Any, transport: Any, wake: Any) -> Outbox:
        return Outbox(ws, transport, wake)


async def test_a_result_for_a_vanished_peer_is_dropped() -> None:
    """The fuzzer saw 'Exception in worker task' (ClientConnectionResetError) logged when an
    operation's result was sent as the client closed: the peer is gone, nothing to report."""
    transport = _GoneTransport(closing=False)
    adapter = CheckedWebSocketAdapter(_View(), _Request(transport), _GoneSocket())  # type: ignore[arg-type]
    await adapter.send_json({"type": "next", "id": "1", "payload": {}})
    transport.closing = True  # the peer went before the outbox flushed
    await asyncio.sleep(0)
    gone = _GoneSocket()
    gone.closed = True
    other = _GoneTransport(closing=False)
    await CheckedWebSocketAdapter(_View(), _Request(other), gone).send_json(  # type: ignore[arg-type]
        {"type": "complete", "id": "1"}
    )
    await asyncio.sleep(0)
    assert transport.written == [] and other.written == []


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS], ids=["transport-ws", "legacy-ws"])
async def test_empty_query_is_a_validation_error(
    api: Api, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzzer (1,500 examples): Strawberry's MissingQueryError was INTERNAL."""
    async with api.session.ws_connect(api.ws_url, protocols=[protocol]) as ws:
        await ws.send_str('{"type": "connection_init"}')
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json(operation(protocol, query=""))
        message = await ws.receive_json(timeout=5)
        while message["type"] == "ka":
            message = await ws.receive_json(timeout=5)
    assert message["type"] == "error"
    errors = message["payload"] if isinstance(message["payload"], list) else [message["payload"]]
    assert errors == [
        {"message": "No GraphQL query found in the request", "extensions": {"code": "VALIDATION"}}
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
