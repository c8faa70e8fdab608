"""Subscriptions leave nothing behind: the open-subscription, WebSocket and asyncio-task
gauges of /metrics return to where they were after clients complete, close, or vanish
(TCP closed without a `complete` or a close frame)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.api.client import TRANSPORT_WS, Api
from tests.api.flows import WAIT_GO, create_workflow, run

SUBSCRIBE = "subscription($id: ID!) { stageTransitions(instanceID: $id) { seq } }"


async def gauges(api: Api) -> dict[str, float]:
    async with api.session.get(api.url / "metrics") as resp:
        text = await resp.text()
    wanted = ("flowql_subscriptions_open", "flowql_websocket_connections_open", "flowql_asyncio_tasks")
    return {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in text.splitlines())
        if name in wanted
    }


async def until(api: Api, check: Any, timeout: float = 5.0) -> dict[str, float]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        now = await gauges(api)
        if check(now) or asyncio.get_running_loop().time() > deadline:
            return now
        await asyncio.sleep(0.05)


async def subscriber(api: Api, instance_id: str) -> ClientConnection:
    ws = await connect(api.ws_url, subprotocols=[TRANSPORT_WS])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    message = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": SUBSCRIBE, "variables": {"id": instance_id}},
    }
    await ws.send(json.dumps(message))
    assert json.loads(await ws.recv())["type"] == "next"  # the replayed first transition
    return ws


async def test_gauges_return_to_baseline_after_abrupt_disconnects(api: Api) -> None:
    instance = (await run(api, await create_workflow(api, WAIT_GO)))["id"]
    before = await gauges(api)
    assert before["flowql_subscriptions_open"] == 0 and before["flowql_websocket_connections_open"] == 0

    clients = [await subscriber(api, instance) for _ in range(20)]
    opened = await until(api, lambda g: g["flowql_subscriptions_open"] == 20)
    assert opened["flowql_subscriptions_open"] == 20 and opened["flowql_websocket_connections_open"] == 20
    assert opened["flowql_asyncio_tasks"] > before["flowql_asyncio_tasks"]

    for ws in clients[:10]:
        ws.transport.abort()  # no complete, no close frame: the TCP connection just goes
    # The subscription's gauge falls when its task ends, the connection's a moment later
    # when the handler returns: wait for both.
    half = await until(
        api,
        lambda g: g["flowql_subscriptions_open"] == 10 and g["flowql_websocket_connections_open"] == 10,
    )
    assert half["flowql_subscriptions_open"] == 10 and half["flowql_websocket_connections_open"] == 10

    for ws in clients[10:15]:  # a polite goodbye
        await ws.send(json.dumps({"id": "1", "type": "complete"}))
        await ws.close()
    for ws in clients[15:]:  # close frame without complete
        await ws.close()
    after = await until(
        api,
        lambda g: (
            g["flowql_websocket_connections_open"] == 0
            and g["flowql_asyncio_tasks"] <= before["flowql_asyncio_tasks"]
        ),
    )
    assert after["flowql_subscriptions_open"] == 0 and after["flowql_websocket_connections_open"] == 0
    assert after["flowql_asyncio_tasks"] <= before["flowql_asyncio_tasks"], (before, after)
