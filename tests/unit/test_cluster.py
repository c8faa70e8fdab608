"""Two engines sharing one MongoDB database, in one process (mongomock, and the session's
FerretDB): what the e2e tests check with real processes, fast. Work sent to the replica that
does not hold the instance reaches it, its transitions reach the other replica's
subscribers once and in order, `run(wait)` on one answers when the other finishes, and a
replica that stops beating is taken over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from flowql.engine.clock import utc_now
from flowql.engine.models import InstanceStatus, Transition
from flowql.engine.replicas import ReplicaRecord
from flowql.engine.runtime import Engine, EngineConfig
from flowql.storage.mongo import MongoStore
from tests.support.mongo import fresh_database_uri
from tests.support.mongomock_async import AsyncDatabase

pytestmark = pytest.mark.timeout(60)

WAIT = [{"wait_event": {"event": "go"}}]


@pytest.fixture(params=["mongomock", "mongodb"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[tuple[MongoStore, MongoStore]]:
    """Two stores (as two processes would have) on one database."""
    if request.param == "mongomock":
        database: Any = AsyncDatabase()
        yield MongoStore(database=database), MongoStore(database=database)
        return
    async with fresh_database_uri(request.getfixturevalue("mongodb_uri"), "flowql_cluster") as uri:
        pair = MongoStore.from_uri(uri), MongoStore.from_uri(uri)
        try:
            yield pair
        finally:
            for store in pair:
                await store.close()


@pytest.fixture
async def pair(stores: tuple[MongoStore, MongoStore]) -> AsyncIterator[tuple[Engine, Engine]]:
    engines = []
    for node, store in zip(("a", "b"), stores, strict=True):
        await store.open()
        config = EngineConfig(node_id=node, lease_ttl=1.0, poll_interval=0.05, run_timeout=20.0)
        engine = Engine(store, config, leases=store)
        await engine.start()
        engines.append(engine)
    yield engines[0], engines[1]
    for engine in engines:
        await engine.stop()


async def watch(engine: Engine, instance_id: str) -> list[Transition]:
    return [t async for t in engine.orchestration.watch_instance(instance_id)]


async def test_an_event_sent_to_b_reaches_a_and_b_sees_every_transition(pair: tuple[Engine, Engine]) -> None:
    a, b = pair
    workflow = await a.orchestration.create_workflow(name="w", stages=WAIT)
    instance = await a.orchestration.run_workflow(workflow.id)
    seen_on_b = asyncio.create_task(watch(b, instance.id))
    everything = b.bus.subscribe(workflow.id)  # a workflow subscriber has no seq check of its own
    await asyncio.sleep(0.1)
    await b.orchestration.send_event(instance.id, "go")
    got = await asyncio.wait_for(seen_on_b, 20)
    stored = await a.store.list_transitions(instance.id)
    assert [t.seq for t in got] == [t.seq for t in stored] == list(range(1, len(stored) + 1))
    assert got[-1].instance_status is InstanceStatus.SUCCEEDED
    carried = [everything.queue.get_nowait() for _ in range(everything.queue.qsize())]
    seqs = [t.seq for t in carried if isinstance(t, Transition)]
    assert seqs == sorted(set(seqs)) and seqs[-1] == stored[-1].seq, f"each once, in order: {seqs}"
    assert a.cluster is not None and b.cluster is not None
    assert b.cluster.relay.relayed >= 1 and a.cluster.relay.relayed == 0


async def test_run_wait_on_b_answers_when_a_finishes(pair: tuple[Engine, Engine]) -> None:
    a, b = pair
    workflow = await a.orchestration.create_workflow(name="w", stages=WAIT)
    instance = await a.orchestration.run_workflow(workflow.id)
    done = b.executor.wait_for(instance.id)  # as a runWorkflow(wait) on b whose instance a holds
    await b.orchestration.send_event(instance.id, "go")
    finished = await asyncio.wait_for(done, 20)
    assert finished.status is InstanceStatus.SUCCEEDED


async def test_a_cancel_on_b_stops_what_a_holds(pair: tuple[Engine, Engine]) -> None:
    a, b = pair
    workflow = await a.orchestration.create_workflow(name="w", stages=[{"delay": {"duration": "1h"}}])
    instance = await a.orchestration.run_workflow(workflow.id)
    cancelled = await b.orchestration.cancel_instance(instance.id)
    assert cancelled.status is InstanceStatus.CANCELLED
    stored = await a.store.list_transitions(instance.id)
    assert [t.instance_status for t in stored][-1] is InstanceStatus.CANCELLED


async def test_a_replica_that_stops_beating_is_taken_over(pair: tuple[Engine, Engine]) -> None:
    a, b = pair
    workflow = await a.orchestration.create_workflow(name="w", stages=WAIT)
    instance = await a.orchestration.run_workflow(workflow.id)
    assert a.cluster is not None and b.cluster is not None
    # a "dies": nothing of it runs any more, and its record stays until it expires (b's
    # takeover is held while a's stop removes the record and the test puts it back)
    takeover, b.cluster.keeper.takeover = b.cluster.keeper.takeover, None
    await a.stop()
    now = utc_now()
    dead = ReplicaRecord(
        owner=a.cluster.owner,
        node_id="a",
        lease_ttl=1.0,
        started_at=now,
        expires_at=now + timedelta(seconds=1),
    )
    await b.cluster.leases.put_replica(dead)
    b.cluster.keeper.takeover = takeover
    sent = asyncio.create_task(b.orchestration.send_event(instance.id, "go"))
    await asyncio.sleep(0.3)
    assert (await b.orchestration.get_instance(instance.id)).status is InstanceStatus.RUNNING
    await sent
    deadline = asyncio.get_running_loop().time() + 20
    while (await b.orchestration.get_instance(instance.id)).status is InstanceStatus.RUNNING:
        assert asyncio.get_running_loop().time() < deadline, "not taken over"
        await asyncio.sleep(0.05)
    taken = await b.orchestration.get_instance(instance.id)
    assert taken.status is InstanceStatus.SUCCEEDED
    assert (taken.lease_owner, taken.lease_epoch) == (b.cluster.owner, 2)
    assert b.cluster.keeper.takeovers == 1


async def test_what_the_bus_carried_is_not_carried_again_after_an_idle_spell(
    pair: tuple[Engine, Engine],
) -> None:
    a, _ = pair
    workflow = await a.orchestration.create_workflow(name="w", stages=[{"delay": {"duration": "1ms"}}])
    done = await a.orchestration.run_workflow(workflow.id, wait=True)  # the relay runs: a waiter
    assert done.status is InstanceStatus.SUCCEEDED
    await asyncio.sleep(0.2)  # no waiter, no subscriber: the relay idles
    late = a.bus.subscribe(workflow.id)  # and runs again, reading the store
    await asyncio.sleep(0.5)
    assert late.queue.qsize() == 0, "a finished instance's transitions were published twice"
