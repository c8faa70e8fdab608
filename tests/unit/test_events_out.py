"""Formance's events from transitions, and the outbox publisher on a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from flowql.engine.events import OutgoingEvent
from flowql.engine.models import EventMessage
from flowql.engine.outbox import OutboxPublisher
from flowql.engine.runtime import Engine

from .conftest import EngineFactory
from .test_executor import WORLD, account, run, send


class ListSink:
    def __init__(self, failures: int = 0) -> None:
        self.events: list[OutgoingEvent] = []
        self.failures = failures

    async def publish(self, events: Sequence[OutgoingEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("NATS down")
        self.events.extend(events)


def kinds(sink: ListSink) -> list[tuple[str, int | None]]:
    return [(e.type, e.payload.get("number")) for e in sink.events]


async def enabled(make_engine: EngineFactory) -> Engine:
    engine = await make_engine()
    engine.store.enable_outbox()
    return engine


async def test_a_run_publishes_formances_events_in_order(make_engine: EngineFactory) -> None:
    engine = await enabled(make_engine)
    instance = await run(engine, [send(WORLD, account("a"), 5), {"noop": {}}])
    sink = ListSink()
    publisher = OutboxPublisher(engine.store, sink)
    assert await publisher.drain_once() == 6
    assert kinds(sink) == [
        ("STARTED_WORKFLOW", None),
        ("STARTED_WORKFLOW_STAGE", 0),
        ("SUCCEEDED_WORKFLOW_STAGE", 0),
        ("STARTED_WORKFLOW_STAGE", 1),
        ("SUCCEEDED_WORKFLOW_STAGE", 1),
        ("SUCCEEDED_WORKFLOW", None),
    ]
    first = sink.events[0]
    assert first.payload == {"id": instance.workflow_id, "instanceID": instance.id}
    assert first.message()["app"] == "orchestration" and first.message()["version"] == "v2"
    assert first.id == f"{instance.id}:1:STARTED_WORKFLOW"
    assert await publisher.drain_once() == 0  # published once
    assert await engine.store.pending_outbox(10) == []


async def test_failure_and_cancel_are_failed_events(make_engine: EngineFactory) -> None:
    engine = await enabled(make_engine)
    await run(engine, [send(account("empty"), account("b"), 5)])  # the test policy gives up after 3
    waiting = await run(engine, [{"wait_event": {"event": "go"}}], wait=False)
    await asyncio.sleep(0.05)
    await engine.orchestration.cancel_instance(waiting.id)
    sink = ListSink()
    await OutboxPublisher(engine.store, sink).drain_once()
    failures = [e for e in sink.events if e.type.startswith("FAILED")]
    assert [e.type for e in failures] == ["FAILED_WORKFLOW_STAGE", "FAILED_WORKFLOW"] * 2
    assert "insufficient funds" in failures[0].payload["error"]
    assert failures[2].payload["error"] == failures[3].payload["error"] == "canceled"


async def test_a_sink_failure_is_retried_not_dropped(make_engine: EngineFactory) -> None:
    engine = await enabled(make_engine)
    await run(engine, [{"noop": {}}])
    sink = ListSink(failures=1)
    publisher = OutboxPublisher(engine.store, sink, poll=0.01)
    publisher.start()
    try:
        for _ in range(200):
            if len(sink.events) == 4:
                break
            await asyncio.sleep(0.01)
    finally:
        await publisher.stop()
    assert publisher.failures == 1 and len(sink.events) == 4
    assert await engine.store.pending_outbox(10) == []


async def test_trigger_occurrences_are_succeeded_or_failed_trigger(make_engine: EngineFactory) -> None:
    engine = await enabled(make_engine)
    workflow = await engine.orchestration.create_workflow(name="t", stages=[{"noop": {}}])
    good = await engine.triggers.create_trigger(name="g", event="PAID", workflow_id=workflow.id)
    bad = await engine.triggers.create_trigger(
        name="b", event="PAID", workflow_id=workflow.id, vars={"x": "event.missing.deep"}
    )
    occurrences = await engine.triggers.publish(EventMessage(type="PAID", payload={"n": 1}, id="e1"))
    assert len(occurrences) == 2
    sink = ListSink()
    await asyncio.sleep(0.05)
    await OutboxPublisher(engine.store, sink).drain_once()
    triggers = {e.payload["triggerID"]: e for e in sink.events if e.type.endswith("_TRIGGER")}
    started = next(o for o in occurrences if o.trigger_id == good.id)
    assert triggers[good.id].type == "SUCCEEDED_TRIGGER"
    assert triggers[good.id].payload == {
        "id": started.id,
        "triggerID": good.id,
        "workflowInstanceID": started.workflow_instance_id,
    }
    assert triggers[bad.id].type == "FAILED_TRIGGER" and "missing" in triggers[bad.id].payload["error"]
    assert await engine.store.pending_outbox(10) == []
