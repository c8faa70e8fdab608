"""The NATS JetStream path for real: publish → trigger → instance → occurrence, malformed
messages, and consumer restarts (graceful and abrupt) in the middle of a burst.

Runs against the nats-server the session starts (`nats_url`, tests/conftest.py), on each
store (`store_uri`: SQLite and the MongoDB server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from flowql.engine.models import EventMessage, InstanceStatus, Trigger, TriggerOccurrence
from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine, EngineConfig
from flowql.engine.triggers import TriggerService, instance_id_for
from flowql.metrics import Metrics
from flowql.nats_consumer import NatsEventConsumer
from flowql.stores import create_store

pytestmark = pytest.mark.both_stores

STAGES = [{"update": {"account": {"id": "users:${user}", "metadata": {"last": "${amount}"}}}}]


@dataclass
class Setup:
    engine: Engine
    trigger: Trigger
    subject: str
    stream: str
    nc: Client
    metrics: Metrics
    url: str

    def consumer(self, triggers: TriggerService | None = None, **kw: Any) -> NatsEventConsumer:
        return NatsEventConsumer(
            self.url,
            self.subject,
            triggers or self.engine.triggers,
            metrics=self.metrics,
            stream=self.stream,
            **kw,
        )

    async def publish(self, body: bytes | dict[str, Any], *, msg_id: str | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await self.nc.jetstream().publish(self.subject, data, headers=headers)

    async def occurrences(self) -> list[TriggerOccurrence]:
        page = await self.engine.triggers.list_occurrences(self.trigger.id, PageRequest(page_size=1000))
        return page.items

    async def pending(self) -> tuple[int, int]:
        info = await self.nc.jetstream().consumer_info(self.stream, "flowql")
        return info.num_pending, info.num_ack_pending


@pytest.fixture
async def setup(nats_url: str, store_uri: str) -> AsyncIterator[Setup]:
    store = create_store(store_uri)
    await store.open()
    engine = Engine(store, EngineConfig(run_timeout=5.0))
    await engine.start()
    workflow = await engine.orchestration.create_workflow(name="note", stages=STAGES)
    trigger = await engine.triggers.create_trigger(
        name="deposits",
        event="DEPOSIT",
        workflow_id=workflow.id,
        filter="event.amount > 0",
        vars={"user": "event.user", "amount": "event.amount"},
    )
    run = uuid.uuid4().hex[:12]
    nc = await nats.connect(nats_url)
    setup = Setup(engine, trigger, f"flowql.test.{run}.events", f"FLOWQL_TEST_{run}", nc, Metrics(), nats_url)
    try:
        yield setup
    finally:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(setup.stream)
        await nc.close()
        await engine.triggers.close()
        await engine.stop()
        await store.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def deposit(user: int, amount: int = 10) -> dict[str, Any]:
    return {
        "type": "DEPOSIT",
        "version": "v2",
        "app": "ledger",
        "payload": {"user": str(user), "amount": amount},
    }


async def test_publish_runs_the_instance_and_stores_the_occurrence(setup: Setup) -> None:
    consumer = setup.consumer()
    await consumer.start()
    try:
        info = await setup.nc.jetstream().stream_info(setup.stream)
        assert info.config.subjects == [setup.subject]  # created because it was missing
        await setup.publish(deposit(1, 250), msg_id="evt-1")
        await setup.publish({**deposit(2), "payload": {"user": "2", "amount": 0}})  # filtered out

        async def one_occurrence() -> bool:
            return len(await setup.occurrences()) == 1 and await setup.pending() == (0, 0)

        await eventually(one_occurrence)
        [occurrence] = await setup.occurrences()
        assert occurrence.event_id == "evt-1"
        assert occurrence.error is None
        assert occurrence.workflow_instance_id == instance_id_for(setup.trigger.id, "evt-1")

        async def terminated() -> bool:
            assert occurrence.workflow_instance_id is not None
            return (await setup.engine.orchestration.get_instance(occurrence.workflow_instance_id)).terminated

        await eventually(terminated)
        instance = await setup.engine.orchestration.get_instance(occurrence.workflow_instance_id or "")
        assert instance.status is InstanceStatus.SUCCEEDED
        assert instance.variables == {"user": "1", "amount": "250"}
        account = await setup.engine.ledger.get_account(
            "main", "users:1"
        )  # update: Formance's default ledger
        assert account.metadata == {"last": "250"}
        assert setup.metrics.nats_messages.labels("dispatched")._value.get() == 2
    finally:
        await consumer.stop()


async def test_malformed_messages_are_acked_counted_and_skipped(setup: Setup) -> None:
    consumer = setup.consumer()
    await consumer.start()
    try:
        for bad in [b"not json", b"[1, 2]", json.dumps({"payload": {"user": "1"}}).encode(), b'{"type": ""}']:
            await setup.publish(bad)
        await setup.publish({"type": "DEPOSIT", "payload": ["not", "an", "object"]})
        await setup.publish({"type": "DEPOSIT", "payload": {"user": "x" * 300_000, "amount": 1}})
        await setup.publish(deposit(3), msg_id="good")

        async def settled() -> bool:
            return len(await setup.occurrences()) == 1 and await setup.pending() == (0, 0)

        await eventually(settled)
        assert setup.metrics.nats_malformed._value.get() == 6
        info = await setup.nc.jetstream().consumer_info(setup.stream, "flowql")
        assert info.num_redelivered == 0
    finally:
        await consumer.stop()


class CrashAfterStore(TriggerService):
    """Fails after the occurrences are stored, before the ack: the worst moment. Slowed
    down so that the burst is still in flight when the test stops the consumer."""

    def __init__(self, engine: Engine, crash_on: set[str]) -> None:
        super().__init__(engine.store, engine.orchestration)
        self.crash_on = set(crash_on)
        self.crashed = 0

    async def publish(self, event: EventMessage) -> list[TriggerOccurrence]:
        occurrences = await super().publish(event)
        await asyncio.sleep(0.005)
        if event.id in self.crash_on:
            self.crash_on.discard(event.id)
            self.crashed += 1
            raise RuntimeError(f"crash after storing {event.id}")
        return occurrences


async def test_restarts_mid_burst_lose_nothing_and_dispatch_nothing_twice(setup: Setup) -> None:
    total = 300
    crashing = CrashAfterStore(setup.engine, {f"burst-{n}" for n in range(0, total, 37)})
    first = setup.consumer(crashing, batch=16, concurrency=4, ack_wait=1.0)
    await first.start()
    for n in range(total):
        # two thirds carry a message id; the rest are identified by their stream sequence
        await setup.publish(deposit(n), msg_id=f"burst-{n}" if n % 3 else None)

    async def some_done() -> bool:
        return len(await setup.occurrences()) >= 60

    await eventually(some_done)
    assert len(await setup.occurrences()) < total - 50
    await first.stop()  # graceful: the message in flight finishes, the batch is handed back

    second = setup.consumer(crashing, batch=16, concurrency=4, ack_wait=1.0)
    await second.start()
    await eventually(lambda: _count_at_least(setup, 150))
    assert len(await setup.occurrences()) < total - 50
    await second.stop(grace=0)  # abrupt: in-flight work is cancelled, never acked

    third = setup.consumer(batch=16, ack_wait=1.0)
    await third.start()
    try:

        async def all_settled() -> bool:
            return len(await setup.occurrences()) >= total and await setup.pending() == (0, 0)

        await eventually(all_settled, timeout=60)
    finally:
        await third.stop()

    occurrences = await setup.occurrences()
    per_event = Counter(o.event_id for o in occurrences)
    assert len(per_event) == total and set(per_event.values()) == {1}
    users = sorted(int(o.event["payload"]["user"]) for o in occurrences)
    assert users == list(range(total))
    assert all(o.error is None for o in occurrences)
    for occurrence in occurrences:
        assert occurrence.event_id is not None
        assert occurrence.workflow_instance_id == instance_id_for(setup.trigger.id, occurrence.event_id)
    counts = await setup.engine.store.count_instances()
    assert sum(counts.values()) == total
    assert crashing.crashed >= 1
    await crashing.close()


async def _count_at_least(setup: Setup, n: int) -> bool:
    return len(await setup.occurrences()) >= n
