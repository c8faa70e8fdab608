"""One slow CEL expression cannot hold up the others (issue #14 item 10): each expression
has one evaluation running and one waiting at most, waiting for a worker is bounded, and
every refusal or timeout is counted. Ordering, not wall-clock: the slow expression runs for
up to its (long) timeout while the others are answered."""

from __future__ import annotations

import asyncio
import json

from flowql.engine.cel_sandbox import Refusal, Sandbox
from flowql.engine.models import EventMessage
from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine
from flowql.engine.triggers import TriggerService

SLOW = "event.l.all(x, event.l.all(y, x + y >= 0))"
"""20,000² evaluations of a small expression, no allocation: minutes, unless killed."""
PAYLOAD = json.dumps({"l": list(range(20_000)), "postings": [{"amount": 500}]})
FAST = "event.postings.exists(p, p.amount > 100)"


async def in_lane(sandbox: Sandbox, source: str, users: int) -> None:
    async with asyncio.timeout(30):
        while (lane := sandbox._lanes.get(source)) is None or lane.users < users:
            await asyncio.sleep(0.01)


async def test_a_slow_expression_holds_one_worker_and_its_excess_is_refused() -> None:
    sandbox = Sandbox(workers=2, timeout=60.0)
    refusals: list[Refusal] = []
    sandbox.add_listener(refusals.append)
    slow = [asyncio.create_task(sandbox.evaluate("filter", SLOW, PAYLOAD)) for _ in range(2)]
    try:
        await in_lane(sandbox, SLOW, 2)
        third = await sandbox.evaluate("filter", SLOW, PAYLOAD)
        assert third.error is not None and third.error.startswith("evaluation refused:")
        assert refusals == ["busy"]
        fast = await sandbox.evaluate("filter", FAST, PAYLOAD)  # the other worker answers it
        assert (fast.value, fast.error) == (True, None)
        assert not any(task.done() for task in slow)
    finally:
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)
        await sandbox.close()
    assert sandbox._lanes == {}


async def test_waiting_for_a_worker_is_bounded_and_timeouts_are_counted() -> None:
    sandbox = Sandbox(workers=1, timeout=1.0)
    refusals: list[Refusal] = []
    sandbox.add_listener(refusals.append)
    try:
        slow = asyncio.create_task(sandbox.evaluate("filter", SLOW, PAYLOAD))
        await in_lane(sandbox, SLOW, 1)
        # Waits for the one worker, which the slow expression holds for its spawn and a timeout.
        waiting = await sandbox.evaluate("filter", FAST, PAYLOAD)
        assert waiting.error == "evaluation refused: no worker free within 1s"
        timed_out = await slow
        assert timed_out.error == "evaluation exceeded 1s"
        assert sorted(refusals) == ["busy", "timeout"]
        again = await sandbox.evaluate("filter", FAST, PAYLOAD)  # a new worker, on demand
        assert (again.value, again.error) == (True, None)
    finally:
        await sandbox.close()


async def test_a_slow_filter_does_not_hold_up_the_other_triggers_of_its_event(engine: Engine) -> None:
    triggers = TriggerService(engine.store, engine.orchestration, sandbox=Sandbox(timeout=60.0))
    stages = [{"update": {"account": {"id": "users:${user}", "metadata": {"seen": "yes"}}}}]
    workflow = await engine.orchestration.create_workflow(name="w", stages=stages)
    common = {"name": "t", "event": "DEPOSIT", "workflow_id": workflow.id, "vars": {"user": "event.user"}}
    await triggers.create_trigger(**common, filter=SLOW)  # created first: dispatched first before
    trivial = await triggers.create_trigger(**common, filter="event.user == 'u1'")
    payload = json.loads(PAYLOAD) | {"user": "u1"}
    publish = asyncio.create_task(triggers.publish(EventMessage(type="DEPOSIT", payload=payload)))
    try:
        async with asyncio.timeout(30):
            while not (await engine.store.list_occurrences(trivial.id, PageRequest(page_size=1))).items:
                await asyncio.sleep(0.02)
        assert not publish.done()  # the slow filter is still running
    finally:
        publish.cancel()
        await asyncio.gather(publish, return_exceptions=True)
        await triggers.close()
