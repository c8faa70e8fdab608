"""Subscriptions over both WebSocket protocols: replay, then live, none missed or doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import gql
from gql.transport.exceptions import TransportQueryError

from tests.api.client import LEGACY_WS, TRANSPORT_WS, Api, collect
from tests.api.conftest import ApiFactory
from tests.api.flows import (
    INSTANCE_UPDATED,
    TRANSITIONS,
    WAIT_GO,
    WORKFLOW_TRANSITIONS,
    create_workflow,
    run,
    send,
    send_stage,
)

pytestmark = pytest.mark.both_stores

pytestmark = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS], ids=["transport-ws", "legacy-ws"])


def steps(results: list[dict[str, Any]]) -> list[tuple[int, int, str, str]]:
    return [
        (t["seq"], t["stage"], t["status"], t["instanceStatus"])
        for t in (r["stageTransitions"] for r in results)
    ]


async def test_replay_then_live_then_end(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [*WAIT_GO, {"wait_event": {"event": "again"}}, send_stage(5)])
    instance = (await run(api, workflow))["id"]
    await send(api, instance, "go")  # stage 0 done before anyone subscribes
    await _until(api, instance, lambda i: len(i["stages"]) == 2 and i["stages"][1]["status"] == "WAITING")

    async with api.ws(protocol) as session:
        task = asyncio.create_task(collect(session, TRANSITIONS, {"id": instance}))
        await asyncio.sleep(0.2)  # replayed; now live
        await send(api, instance, "again")
        results = await asyncio.wait_for(task, 10)  # completes by itself at termination

    assert steps(results) == await stored_steps(api, instance), "missed, doubled or reordered transitions"
    assert steps(results)[-1][3] == "SUCCEEDED"
    first = results[0]["stageTransitions"]
    assert first["instanceID"] == instance and first["workflowID"] == workflow
    assert first["kind"] == "WAIT_EVENT" and first["at"].endswith("Z")


async def test_many_transitions_while_subscribing_mid_run(api: Api, protocol: str) -> None:
    """Subscribers joining at random points of a busy run all see the same full sequence."""
    stages = [{"wait_event": {"event": f"e{i}"}} for i in range(15)]
    workflow = await create_workflow(api, stages)
    instance = (await run(api, workflow))["id"]

    async def subscriber() -> list[tuple[int, int, str, str]]:
        async with api.ws(protocol) as session:
            return steps(await collect(session, TRANSITIONS, {"id": instance}))

    tasks = []
    for i in range(15):
        tasks.append(asyncio.create_task(subscriber()))
        await send(api, instance, f"e{i}")
        await asyncio.sleep(0.01)
    seen = await asyncio.wait_for(asyncio.gather(*tasks), 20)
    expected = await stored_steps(api, instance)
    assert expected[-1][3] == "SUCCEEDED" and len(expected) == 15 * 3
    for sequence in seen:
        assert sequence == expected


async def test_terminated_instance_replays_and_completes(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [send_stage(7)])
    instance = await run(api, workflow, wait=True)
    assert instance["status"] == "SUCCEEDED"
    async with api.ws(protocol) as session:
        results = await asyncio.wait_for(collect(session, TRANSITIONS, {"id": instance["id"]}), 5)
    assert [s[2:] for s in steps(results)] == [("RUNNING", "RUNNING"), ("SUCCEEDED", "SUCCEEDED")]


async def test_instance_updated_current_state_then_each_change(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [*WAIT_GO, {"wait_event": {"event": "end"}}])
    instance = (await run(api, workflow))["id"]
    await _until(api, instance, lambda i: i["stages"][0]["status"] == "WAITING")
    async with api.ws(protocol) as session:
        task = asyncio.create_task(collect(session, INSTANCE_UPDATED, {"id": instance}))
        await asyncio.sleep(0.2)
        await send(api, instance, "go")
        await _until(api, instance, lambda i: len(i["stages"]) == 2 and i["stages"][1]["status"] == "WAITING")
        await send(api, instance, "end")
        snapshots = [r["instanceUpdated"] for r in await asyncio.wait_for(task, 10)]
    assert snapshots[0]["status"] == "RUNNING" and snapshots[0]["stages"] == [
        {"index": 0, "status": "WAITING"}
    ]
    assert snapshots[-1]["status"] == "SUCCEEDED" and snapshots[-1]["terminated"] is True
    assert [s["stages"][-1]["status"] for s in snapshots].count("SUCCEEDED") >= 1
    assert len({repr(s) for s in snapshots}) == len(snapshots), "a snapshot was sent twice"


async def test_workflow_subscription_is_live(api: Api, protocol: str) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    async with api.ws(protocol) as session:
        task = asyncio.create_task(collect(session, WORKFLOW_TRANSITIONS, {"id": workflow}, limit=4))
        await asyncio.sleep(0.2)
        first = (await run(api, workflow))["id"]
        second = (await run(api, workflow))["id"]
        results = await asyncio.wait_for(task, 10)
    by_instance: dict[str, list[int]] = {}
    for r in results:
        t = r["stageTransitions"]
        by_instance.setdefault(t["instanceID"], []).append(t["seq"])
    assert by_instance == {first: [1, 2], second: [1, 2]}


async def test_unknown_instance_is_not_found(api: Api, protocol: str) -> None:
    async with api.ws(protocol) as session:
        with pytest.raises(TransportQueryError) as error:
            await collect(session, TRANSITIONS, {"id": "missing"})
    assert error.value.errors is not None
    assert error.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_needs_exactly_one_argument(api: Api, protocol: str) -> None:
    async with api.ws(protocol) as session:
        with pytest.raises(TransportQueryError) as error:
            async for _ in session.subscribe(gql("subscription { stageTransitions { seq } }")):
                pass
    assert error.value.errors is not None
    assert error.value.errors[0]["extensions"]["code"] == "VALIDATION"


async def test_queries_over_the_socket(api: Api, protocol: str) -> None:
    async with api.ws(protocol) as session:
        if protocol == TRANSPORT_WS:
            result = await session.execute(gql("{ serverInfo { version } }"))
            assert result["serverInfo"]["version"]
            return
        with pytest.raises(TransportQueryError) as error:  # the legacy protocol only subscribes
            await session.execute(gql("{ serverInfo { version } }"))
    assert error.value.errors is not None
    assert error.value.errors[0]["extensions"]["code"] == "VALIDATION"
    assert "not allowed" in error.value.errors[0]["message"]


async def stored_steps(api: Api, instance_id: str) -> list[tuple[int, int, str, str]]:
    query = "query($id: ID!) { instance(id: $id) { history { seq stage status instanceStatus } } }"
    history = (await api.query(query, {"id": instance_id}))["instance"]["history"]
    return [(t["seq"], t["stage"], t["status"], t["instanceStatus"]) for t in history]


async def _until(api: Api, instance_id: str, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    query = "query($id: ID!) { instance(id: $id) { status stages { index status } } }"
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        data = (await api.query(query, {"id": instance_id}))["instance"]
        if predicate(data):
            return data
        assert asyncio.get_running_loop().time() < deadline, f"condition not reached: {data}"
        await asyncio.sleep(0.02)


async def test_slow_workflow_subscriber_is_closed_with_a_reason(make_api: ApiFactory, protocol: str) -> None:
    """Policy: a live-only subscriber more than its queue behind is closed with CONFLICT and
    resubscribes; instance subscriptions heal the gap from the store instead."""
    api = await make_api(queue_size=4)
    workflow = await create_workflow(api, [send_stage(1)])
    instance = await run(api, workflow, wait=True)
    stored = await api.engine.orchestration.transitions(instance["id"])
    async with api.ws(protocol) as session:
        task = asyncio.create_task(collect(session, WORKFLOW_TRANSITIONS, {"id": workflow}))
        while api.engine.bus.subscription_count == 0:
            await asyncio.sleep(0.01)
        for _ in range(10):  # a burst faster than the subscriber drains: same loop, no await
            api.engine.bus.publish(stored[0])
        with pytest.raises(TransportQueryError) as error:
            await asyncio.wait_for(task, 5)
    assert error.value.errors is not None
    assert error.value.errors[0]["extensions"]["code"] == "CONFLICT"
    assert "subscribe again" in error.value.errors[0]["message"]
