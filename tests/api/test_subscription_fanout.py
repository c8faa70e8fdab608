"""Shared subscription execution: equal subscriptions (document, operation, variables,
grant) share one execution and one bus subscription, on both protocols; each socket still
gets its own ids; late joiners are caught up as their stream declares; a socket that
stops reading is closed with 1013 while the others of its execution get everything."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from flowql.config import parse_tokens
from tests.api.client import LEGACY_WS, TRANSPORT_WS, Api
from tests.api.conftest import ApiFactory
from tests.api.flows import WAIT_GO, create_workflow, run, send, send_stage
from tests.support.websockets import close_of

BY_WORKFLOW = "subscription($w: ID!) { stageTransitions(workflowID: $w) { instanceID seq status } }"
BY_WORKFLOW_SEQ = "subscription($w: ID!) { stageTransitions(workflowID: $w) { seq } }"
BY_INSTANCE = (
    "subscription($id: ID!) { stageTransitions(instanceID: $id) { seq stage status instanceStatus } }"
)
WITH_ERROR = "subscription($w: ID!) { stageTransitions(workflowID: $w) { seq error } }"
UPDATED = "subscription($id: ID!) { instanceUpdated(id: $id) { status stages { index status } } }"

protocols = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS], ids=["transport-ws", "legacy-ws"])


class Socket:
    """One raw WebSocket speaking `protocol`; results are kept per operation id."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.completed: set[str] = set()

    async def start(self, op: str, query: str, **variables: object) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op, "type": kind, "payload": payload}))
        self.results.setdefault(op, [])

    async def read_until(self, done: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not done(self):
                message = json.loads(await self.ws.recv())
                if message["type"] in ("next", "data"):
                    assert not message["payload"].get("errors"), message
                    self.results[message["id"]].append(message["payload"]["data"])
                elif message["type"] == "complete":
                    self.completed.add(message["id"])
                elif message["type"] not in ("ka", "ping", "pong"):
                    raise AssertionError(message)


@asynccontextmanager
async def opened(api: Api, protocol: str, token: str | None = None, **options: Any) -> AsyncIterator[Socket]:
    async with connect(api.ws_url, subprotocols=[protocol], **options) as ws:  # type: ignore[list-item]
        init: dict[str, Any] = {"type": "connection_init", "payload": {}}
        if token:
            init["payload"] = {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps(init))
        while (kind := json.loads(await ws.recv())["type"]) == "ka":
            pass
        assert kind == "connection_ack"
        yield Socket(ws, protocol)


async def until(check: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@protocols
async def test_equal_subscriptions_share_one_execution(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    fanout, bus = api.app_state.view.fanout, api.engine.bus
    async with opened(api, protocol) as a, opened(api, protocol) as b, opened(api, protocol) as c:
        await a.start("a1", BY_WORKFLOW, w=workflow)
        await a.start("a2", BY_WORKFLOW, w=workflow)
        await b.start("b", BY_WORKFLOW, w=workflow)
        await c.start("c", BY_WORKFLOW_SEQ, w=workflow)  # another selection: its own execution
        await until(lambda: fanout.subscribers == 4 and bus.subscription_count == 2)
        assert fanout.executions == 2
        instance = (await run(api, workflow, wait=True))["id"]
        for sock in (a, b, c):
            await sock.read_until(lambda s: all(len(r) == 2 for r in s.results.values()))
    expected = [
        {"stageTransitions": {"instanceID": instance, "seq": 1, "status": "RUNNING"}},
        {"stageTransitions": {"instanceID": instance, "seq": 2, "status": "SUCCEEDED"}},
    ]
    assert a.results == {"a1": expected, "a2": expected} and b.results == {"b": expected}
    assert c.results == {"c": [{"stageTransitions": {"seq": 1}}, {"stageTransitions": {"seq": 2}}]}
    await until(lambda: fanout.subscribers == 0 and fanout.executions == 0 and bus.subscription_count == 0)


async def test_grants_are_part_of_the_key(make_api: ApiFactory) -> None:
    tokens = "r1:orchestration:read r2:orchestration:read admin:orchestration:read,orchestration:write"
    api = await make_api(auth_tokens=parse_tokens(tokens))
    workflow = (await api.engine.orchestration.create_workflow(name="w", stages=[send_stage(1)])).id
    fanout = api.app_state.view.fanout
    async with (
        opened(api, TRANSPORT_WS, "r1") as r1,
        opened(api, TRANSPORT_WS, "r2") as r2,
        opened(api, TRANSPORT_WS, "admin") as admin,
    ):
        for sock in (r1, r2, admin):
            await sock.start("1", BY_WORKFLOW, w=workflow)
        await until(lambda: fanout.subscribers == 3)
        assert fanout.executions == 2  # r1 and r2 share; admin's grant differs
        instance = (await api.engine.orchestration.run_workflow(workflow, wait=True)).id
        for sock in (r1, r2, admin):
            await sock.read_until(lambda s: len(s.results["1"]) == 2)
            assert [r["stageTransitions"]["instanceID"] for r in sock.results["1"]] == [instance] * 2


@protocols
async def test_a_late_subscriber_of_an_instance_gets_its_whole_stream(api: Api, protocol: str) -> None:
    stages = [{"wait_event": {"event": f"e{i}"}} for i in range(3)]
    workflow = await create_workflow(api, stages)
    instance = (await run(api, workflow))["id"]
    fanout = api.app_state.view.fanout
    async with opened(api, protocol) as early, opened(api, protocol) as late:
        await early.start("1", BY_INSTANCE, id=instance)
        await send(api, instance, "e0")
        await early.read_until(lambda s: len(s.results["1"]) >= 4)  # RUNNING WAITING SUCCEEDED RUNNING
        await late.start("1", BY_INSTANCE, id=instance)
        await late.read_until(lambda s: len(s.results["1"]) >= 4)
        assert fanout.executions == 1 and api.engine.bus.subscription_count == 1
        await send(api, instance, "e1")
        await send(api, instance, "e2")
        for sock in (early, late):
            await sock.read_until(lambda s: "1" in s.completed)
    stored = await api.engine.orchestration.transitions(instance)
    expected = [
        {
            "stageTransitions": {
                "seq": t.seq,
                "stage": t.stage,
                "status": t.status.value,
                "instanceStatus": t.instance_status.value,
            }
        }
        for t in stored
    ]
    assert early.results["1"] == expected and late.results["1"] == expected
    assert expected[-1]["stageTransitions"]["instanceStatus"] == "SUCCEEDED"


@protocols
async def test_a_late_subscriber_of_snapshots_gets_the_latest(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [*WAIT_GO, {"wait_event": {"event": "end"}}])
    instance = (await run(api, workflow))["id"]
    fanout = api.app_state.view.fanout
    async with opened(api, protocol) as early, opened(api, protocol) as late:
        await early.start("1", UPDATED, id=instance)
        await send(api, instance, "go")

        def reached_second_wait(s: Socket) -> bool:
            last = s.results["1"][-1]["instanceUpdated"] if s.results["1"] else None
            return last is not None and last["stages"] == [
                {"index": 0, "status": "SUCCEEDED"},
                {"index": 1, "status": "WAITING"},
            ]

        await early.read_until(reached_second_wait)
        await late.start("1", UPDATED, id=instance)
        await late.read_until(lambda s: len(s.results["1"]) == 1)
        assert fanout.executions == 1
        assert late.results["1"] == early.results["1"][-1:]  # the latest snapshot, not the history
        await send(api, instance, "end")
        for sock in (early, late):
            await sock.read_until(lambda s: "1" in s.completed)
    assert early.results["1"][-1] == late.results["1"][-1]
    assert late.results["1"][-1]["instanceUpdated"]["status"] == "SUCCEEDED"


@protocols
async def test_a_late_subscriber_of_a_live_stream_gets_what_follows(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    fanout = api.app_state.view.fanout
    async with opened(api, protocol) as early, opened(api, protocol) as late:
        await early.start("1", BY_WORKFLOW, w=workflow)
        await until(lambda: api.engine.bus.subscription_count == 1)
        first = (await run(api, workflow, wait=True))["id"]
        await early.read_until(lambda s: len(s.results["1"]) == 2)
        await late.start("1", BY_WORKFLOW, w=workflow)
        await until(lambda: fanout.subscribers == 2)
        assert fanout.executions == 1
        second = (await run(api, workflow, wait=True))["id"]
        await early.read_until(lambda s: len(s.results["1"]) == 4)
        await late.read_until(lambda s: len(s.results["1"]) == 2)
    assert [r["stageTransitions"]["instanceID"] for r in early.results["1"]] == [first, first, second, second]
    assert [r["stageTransitions"]["instanceID"] for r in late.results["1"]] == [second, second]


async def test_a_socket_that_stops_reading_is_closed_and_the_others_get_everything(
    make_api: ApiFactory,
) -> None:
    api = await make_api(ws_outbound_limit=16384)
    workflow = await create_workflow(api, [send_stage(1)])
    stored = await api.engine.orchestration.transitions((await run(api, workflow, wait=True))["id"])
    big = stored[0].model_copy(update={"error": "x" * 10_000})  # the kernel's buffers fill sooner
    metrics = api.app_state.metrics.registry
    # A reader with a tiny receive buffer that takes one message and then stops reading.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((api.url.host, api.url.port))
    raw.setblocking(False)
    async with opened(api, TRANSPORT_WS, sock=raw, max_queue=1) as slow, opened(api, TRANSPORT_WS) as fast:
        await slow.start("s", WITH_ERROR, w=workflow)
        await fast.start("f", WITH_ERROR, w=workflow)
        await until(lambda: api.app_state.view.fanout.subscribers == 2)
        total = 1000
        reader = asyncio.create_task(fast.read_until(lambda s: len(s.results["f"]) == total, timeout=60))

        async def publish() -> None:
            for _ in range(total):
                api.engine.bus.publish(big)
                await asyncio.sleep(0.001)

        publishing = asyncio.create_task(publish())
        await until(lambda: metrics.get_sample_value("flowql_websocket_slow_closed_total") == 1, timeout=30)
        # It reads again at once (one that waits longer than 5 s is cut off without a close frame).
        code, reason = await asyncio.wait_for(close_of(slow.ws), 30)
        await publishing
        await reader
    assert len(fast.results["f"]) == total  # nothing lost or held back by the slow one
    assert code == 1013 and reason is not None and "too slow" in reason and "subscribe again" in reason
    await until(lambda: api.app_state.view.fanout.subscribers == 0)
