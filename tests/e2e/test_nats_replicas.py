"""Triggers once across replicas (#13 item 4): two replicas on one MongoDB database (the
session's FerretDB) pull from the one durable JetStream consumer at once; every event is
evaluated and starts its run once, whichever replica pulls it (some messages redelivered:
the first pull's ack wait runs out while it is slow)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import nats
import pytest

from flowql.engine.models import InstanceStatus
from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine, EngineConfig
from flowql.metrics import Metrics
from flowql.nats_consumer import NatsEventConsumer
from flowql.storage.mongo import MongoStore
from tests.support.mongo import fresh_database_uri

pytestmark = pytest.mark.timeout(180)

STAGES = [{"update": {"account": {"id": "users:${user}", "metadata": {"seen": "yes"}}}}]


@pytest.fixture
async def replicas(mongodb_uri: str) -> AsyncIterator[tuple[Engine, Engine]]:
    async with fresh_database_uri(mongodb_uri, "flowql_nats") as uri:
        engines = []
        for node in ("a", "b"):
            store = MongoStore.from_uri(uri)
            await store.open()
            engine = Engine(store, EngineConfig(node_id=node, lease_ttl=5.0, run_timeout=10.0), leases=store)
            await engine.start()
            engines.append(engine)
        try:
            yield engines[0], engines[1]
        finally:
            for engine in engines:
                await engine.triggers.close()
                await engine.stop()
                await engine.store.close()


async def test_two_replicas_share_the_consumer_and_start_each_run_once(
    replicas: tuple[Engine, Engine], nats_url: str
) -> None:
    a, b = replicas
    workflow = await a.orchestration.create_workflow(name="note", stages=STAGES)
    trigger = await a.triggers.create_trigger(
        name="deposits", event="DEPOSIT", workflow_id=workflow.id, vars={"user": "event.user"}
    )
    run = uuid.uuid4().hex[:12]
    subject, stream = f"flowql.test.{run}.events", f"FLOWQL_TEST_{run}"
    consumers = [
        NatsEventConsumer(
            nats_url, subject, engine.triggers, metrics=Metrics(), stream=stream, batch=4, ack_wait=1.0
        )
        for engine in (a, b)
    ]
    total = 60
    nc = await nats.connect(nats_url)
    try:
        for consumer in consumers:
            await consumer.start()
        for n in range(total):
            body = {"type": "DEPOSIT", "payload": {"user": str(n)}}
            await nc.jetstream().publish(subject, json.dumps(body).encode(), headers={"Nats-Msg-Id": f"e{n}"})

        async def settled() -> bool:
            page = await a.triggers.list_occurrences(trigger.id, PageRequest(page_size=1000))
            info = await nc.jetstream().consumer_info(stream, "flowql")
            return len(page.items) >= total and (info.num_pending, info.num_ack_pending) == (0, 0)

        deadline = asyncio.get_running_loop().time() + 120
        while not await settled():
            assert asyncio.get_running_loop().time() < deadline, "events not all handled"
            await asyncio.sleep(0.2)
    finally:
        for consumer in consumers:
            await consumer.stop()
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    occurrences = (await a.triggers.list_occurrences(trigger.id, PageRequest(page_size=1000))).items
    per_event = Counter(o.event_id for o in occurrences)
    assert len(per_event) == total and set(per_event.values()) == {1}, "each event evaluated once"
    ids = [o.workflow_instance_id for o in occurrences]
    assert None not in ids and len(set(ids)) == total
    started = await a.store.get_instances([i for i in ids if i is not None])
    assert len(started) == total, "each event started one run"
    assert a.cluster is not None and b.cluster is not None
    owners = Counter(instance.lease_owner for instance in started.values())
    assert set(owners) == {a.cluster.owner, b.cluster.owner}, f"both replicas pulled: {owners}"
    await a.executor.drain(30)
    await b.executor.drain(30)
    counts = await a.store.count_instances()
    assert counts.get(InstanceStatus.SUCCEEDED, 0) == total, counts
