"""A subscriber that stops reading, against a running `flowql serve` (issue #14, item 8):
with messages of a few hundred bytes its kernel buffers would take hundreds of KB before
anything backs up in the server, so it is found by the pings the outbox sends as it writes
(one every few KiB, answered within FLOWQL_WS_PONG_TIMEOUT) and closed with 1013 and a
reason it reads when it resumes (the close waits for its close frame: the late pongs it
sends first must not reset the connection); a subscriber of the same shared execution that
reads gets every transition, before and after."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.live_server import LiveServer, live_server
from tests.support.websockets import close_of

TRANSPORT = "graphql-transport-ws"
FOLLOW = "subscription($w: ID!) { stageTransitions(workflowID: $w) { instanceID seq stage status at error } }"
CREATE = "mutation C($s: [StageInput!]!) { createWorkflow(input: {stages: $s}) { id } }"
RUN = "mutation R($w: ID!, $v: JSON) { runWorkflow(workflowID: $w, variables: $v, wait: true) { id } }"
HISTORY = "query I($id: ID!) { instance(id: $id) { history { seq } } }"
SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:${user}"}},
        "amount": {"amount": "1", "asset": "USD/2"},
    }
}


async def graphql(http: httpx.AsyncClient, query: str, **variables: object) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


async def metric(http: httpx.AsyncClient, name: str) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


@asynccontextmanager
async def subscribed(server: LiveServer, workflow: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url, subprotocols=[TRANSPORT], **options) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": FOLLOW, "variables": {"w": workflow}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield ws


async def read_all(ws: ClientConnection, got: set[tuple[str, int]]) -> None:
    async for raw in ws:
        message = json.loads(raw)
        assert message["type"] == "next" and not message["payload"].get("errors"), message
        transition = message["payload"]["data"]["stageTransitions"]
        got.add((transition["instanceID"], transition["seq"]))


async def test_a_silent_subscriber_is_closed_with_its_reason_and_a_reader_gets_everything(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            workflow = (await graphql(http, CREATE, s=[SEND]))["createWorkflow"]["id"]
            instances: list[str] = []

            async def runs(count: int) -> None:
                batch = [graphql(http, RUN, w=workflow, v={"user": str(n)}) for n in range(count)]
                instances.extend(done["runWorkflow"]["id"] for done in await asyncio.gather(*batch))

            # A client that takes one message and then stops reading, with a small receive
            # buffer (the kernel's would otherwise take ~120 KB of frames first).
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", server.port))
            raw.setblocking(False)
            got: set[tuple[str, int]] = set()
            async with (
                subscribed(server, workflow, sock=raw, max_queue=1) as silent,
                subscribed(server, workflow) as reader,
            ):
                reading = asyncio.create_task(read_all(reader, got))
                async with asyncio.timeout(30):
                    while await metric(http, "flowql_subscriptions_open") < 2:
                        await asyncio.sleep(0.02)
                    while await metric(http, "flowql_websocket_slow_closed_total") == 0:
                        await runs(10)
                code, reason = await asyncio.wait_for(close_of(silent), 10)  # it reads again
                await runs(10)  # the reader goes on after the silent one is gone
                stored = {
                    (id, transition["seq"])
                    for id in instances
                    for transition in (await graphql(http, HISTORY, id=id))["instance"]["history"]
                }
                async with asyncio.timeout(10):
                    while not stored <= got:
                        await asyncio.sleep(0.02)
                reading.cancel()
            assert code == 1013, (code, reason)
            assert reason is not None and reason.startswith("too slow: no answer to a ping for 2 s")
            assert "subscribe again" in reason
            assert await metric(http, "flowql_websocket_slow_closed_total") == 1
            assert got == stored  # every transition, nothing else
