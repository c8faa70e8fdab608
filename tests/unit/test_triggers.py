"""TriggerService on each real store (SQLite, and the MongoDB server: `both_stores`):
validation, matching, filter, vars, dedup, test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowql.engine.cel_sandbox import Sandbox
from flowql.engine.clock import utc_now
from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import (
    EventMessage,
    Instance,
    InstanceStatus,
    Trigger,
    TriggerOccurrence,
    Workflow,
    new_id,
)
from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine
from flowql.engine.triggers import MAX_PAYLOAD_BYTES, TriggerService, instance_id_for

pytestmark = pytest.mark.both_stores

STAGES = [
    {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"account": {"id": "users:${user}"}},
            "amount": {"amount": "${amount}", "asset": "USD/2"},
        }
    }
]
VARS = {"user": "event.user", "amount": "event.amount"}


@pytest.fixture
async def triggers(engine: Engine) -> AsyncIterator[TriggerService]:
    yield engine.triggers
    await engine.triggers.close()


@pytest.fixture
async def workflow(engine: Engine) -> Workflow:
    return await engine.orchestration.create_workflow(name="credit", stages=STAGES)


async def instance_count(engine: Engine) -> int:
    return sum((await engine.store.count_instances()).values())


async def create(triggers: TriggerService, workflow: Workflow, **kw: Any) -> Trigger:
    options: dict[str, Any] = {"name": "t", "event": "DEPOSIT", "workflow_id": workflow.id, "vars": VARS}
    options.update(kw)
    return await triggers.create_trigger(**options)


def event(payload: dict[str, Any], *, type: str = "DEPOSIT", **kw: Any) -> EventMessage:
    return EventMessage(type=type, payload=payload, **kw)


# --- create / get / delete -------------------------------------------------------------


async def test_create_rejects_bad_expressions_with_field_and_position(
    triggers: TriggerService, workflow: Workflow
) -> None:
    with pytest.raises(FlowqlError) as caught:
        await create(triggers, workflow, filter="event.amount >")
    assert caught.value.code is ErrorCode.VALIDATION
    assert caught.value.field == "filter"
    assert caught.value.message.startswith("filter: 1:15: unexpected end of expression")

    with pytest.raises(FlowqlError) as caught:
        await create(triggers, workflow, vars={"user": "event.user", "amount": "event.amount\n  + "})
    assert caught.value.field == "vars.amount"
    assert caught.value.message.startswith("vars.amount: 2:5: ")

    with pytest.raises(FlowqlError) as caught:
        await create(triggers, workflow, event="")
    assert caught.value.field == "event"
    for bad in ({"filter": 3}, {"vars": ["event.a"]}, {"vars": {"x": 1}}, {"vars": {"": "1"}}):
        with pytest.raises(FlowqlError) as caught:
            await create(triggers, workflow, **bad)
        assert caught.value.code is ErrorCode.VALIDATION
    page = await triggers.list_triggers(PageRequest())
    assert page.items == []


async def test_create_for_unknown_or_deleted_workflow_is_not_found(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    with pytest.raises(FlowqlError) as caught:
        await triggers.create_trigger(name=None, event="DEPOSIT", workflow_id="nope")
    assert caught.value.code is ErrorCode.NOT_FOUND
    await engine.orchestration.delete_workflow(workflow.id)
    with pytest.raises(FlowqlError) as caught:
        await create(triggers, workflow)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_get_list_delete(triggers: TriggerService, workflow: Workflow) -> None:
    first = await create(triggers, workflow, name="alpha", filter="", version="")
    assert (first.filter, first.version) == (None, None)
    second = await create(triggers, workflow, name="beta", filter="event.amount > 1", version="v2")
    assert await triggers.get_trigger(first.id) == first
    assert [t.id for t in (await triggers.list_triggers(PageRequest())).items] == [second.id, first.id]
    assert [t.id for t in (await triggers.list_triggers(PageRequest(), name="alp")).items] == [first.id]
    await triggers.delete_trigger(first.id)
    for call in (triggers.get_trigger, triggers.delete_trigger):
        with pytest.raises(FlowqlError) as caught:
            await call(first.id)
        assert caught.value.code is ErrorCode.NOT_FOUND
    assert [t.id for t in (await triggers.list_triggers(PageRequest())).items] == [second.id]
    assert await triggers.publish(event({"user": "1", "amount": 5})) == []  # the deleted one is gone


# --- dispatch --------------------------------------------------------------------------


async def test_publish_runs_the_workflow_with_vars_and_records_the_occurrence(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    trigger = await create(triggers, workflow, vars={**VARS, "note": "{'n': event.amount * 2}"})
    occurrences = await triggers.publish(event({"user": "42", "amount": 250}))
    assert len(occurrences) == 1
    occurrence = occurrences[0]
    assert (occurrence.trigger_id, occurrence.error) == (trigger.id, None)
    assert occurrence.event == {"type": "DEPOSIT", "payload": {"user": "42", "amount": 250}}  # the message
    assert occurrence.workflow_instance_id is not None
    instance = await engine.orchestration.get_instance(occurrence.workflow_instance_id)
    assert instance.workflow_id == workflow.id
    assert instance.variables == {"user": "42", "amount": "250", "note": '{"n":500}'}
    finished = await wait_terminated(engine, instance.id)
    assert finished.status is InstanceStatus.SUCCEEDED
    assert (await engine.ledger.get_account("default", "users:42")).balances == {"USD/2": 250}
    page = await triggers.list_occurrences(trigger.id, PageRequest())
    assert page.items == occurrences


async def wait_terminated(engine: Engine, instance_id: str) -> Instance:
    for _ in range(200):
        instance = await engine.orchestration.get_instance(instance_id)
        if instance.terminated:
            return instance
        await asyncio.sleep(0.01)
    raise AssertionError(f"instance {instance_id} did not terminate")


async def test_matching_by_type_and_version(triggers: TriggerService, workflow: Workflow) -> None:
    any_version = await create(triggers, workflow)
    v2 = await create(triggers, workflow, version="v2")
    other = await create(triggers, workflow, event="WITHDRAWAL")
    payload = {"user": "1", "amount": 1}

    def fired(occurrences: list[TriggerOccurrence]) -> set[str]:
        return {o.trigger_id for o in occurrences}

    assert fired(await triggers.publish(event(payload))) == {any_version.id}
    assert fired(await triggers.publish(event(payload, version="v1"))) == {any_version.id}
    assert fired(await triggers.publish(event(payload, version="v2"))) == {any_version.id, v2.id}
    assert fired(await triggers.publish(event(payload, type="WITHDRAWAL"))) == {other.id}
    assert await triggers.publish(event(payload, type="UNKNOWN")) == []


async def test_filter_true_false_and_error(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    trigger = await create(triggers, workflow, filter="event.amount > 100")
    assert len(await triggers.publish(event({"user": "1", "amount": 101}))) == 1
    assert await triggers.publish(event({"user": "1", "amount": 100})) == []
    before = await instance_count(engine)
    errors: list[None] = []
    triggers.add_filter_error_listener(lambda: errors.append(None))
    # as Formance: a filter that fails is logged and counted, the event skipped
    assert await triggers.publish(event({"user": "1", "amount": "lots"})) == []
    assert await triggers.publish(event({"user": "1"})) == []
    assert len(errors) == 2
    assert await instance_count(engine) == before
    page = await triggers.list_occurrences(trigger.id, PageRequest())
    assert [o.error is None for o in page.items] == [True]


async def test_non_bool_filter_and_failing_var_record_errors(
    triggers: TriggerService, workflow: Workflow
) -> None:
    await create(triggers, workflow, filter="event.amount")
    assert await triggers.publish(event({"user": "1", "amount": 5})) == []  # Formance: not a match
    other = await create(triggers, workflow, event="OTHER", vars={"user": "event.nobody.name"})
    [occurrence] = await triggers.publish(event({"user": "1"}, type="OTHER"))
    assert (occurrence.trigger_id, occurrence.error) == (other.id, "vars.user: no such key: nobody")


async def test_run_failure_is_an_occurrence_error(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    await create(triggers, workflow)
    await engine.orchestration.delete_workflow(workflow.id)
    [occurrence] = await triggers.publish(event({"user": "1", "amount": 1}))
    assert occurrence.workflow_instance_id is None
    assert occurrence.error == f"NOT_FOUND: workflow {workflow.id!r} not found"


async def test_an_event_id_is_dispatched_once(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    trigger = await create(triggers, workflow)
    message = event({"user": "7", "amount": 3}, id="evt-1")
    [first] = await triggers.publish(message)
    assert first.workflow_instance_id == instance_id_for(trigger.id, "evt-1")
    assert first.event_id == "evt-1"
    assert await triggers.publish(message) == []
    assert await instance_count(engine) == 1
    assert len((await triggers.list_occurrences(trigger.id, PageRequest())).items) == 1


async def test_redelivery_after_a_crash_between_start_and_occurrence(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    trigger = await create(triggers, workflow)
    started = instance_id_for(trigger.id, "evt-9")
    await engine.orchestration.run_workflow(workflow.id, {"user": "9", "amount": "1"}, instance_id=started)
    [occurrence] = await triggers.publish(event({"user": "9", "amount": 1}, id="evt-9"))
    assert (occurrence.workflow_instance_id, occurrence.error) == (started, None)
    assert await instance_count(engine) == 1


async def test_events_without_id_are_not_deduplicated(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    await create(triggers, workflow)
    message = event({"user": "7", "amount": 3})
    [first] = await triggers.publish(message)
    [second] = await triggers.publish(message)
    assert first.workflow_instance_id != second.workflow_instance_id
    assert await instance_count(engine) == 2


async def test_cache_sees_triggers_created_and_deleted_after_first_use(
    triggers: TriggerService, workflow: Workflow
) -> None:
    payload = {"user": "1", "amount": 1}
    assert await triggers.publish(event(payload)) == []
    trigger = await create(triggers, workflow)
    assert [o.trigger_id for o in await triggers.publish(event(payload))] == [trigger.id]
    await triggers.delete_trigger(trigger.id)
    assert await triggers.publish(event(payload)) == []


async def test_a_stored_expression_that_no_longer_compiles_records_errors(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    broken = Trigger(
        id=new_id(), event="DEPOSIT", workflow_id=workflow.id, filter="event.a >", created_at=utc_now()
    )
    await engine.store.insert_trigger(broken)
    [occurrence] = await triggers.publish(event({"a": 1}))
    assert occurrence.error is not None and occurrence.error.startswith("filter: 1:10: ")
    result = await triggers.test_trigger(broken.id, {"a": 1})
    assert (result.match, result.error) == (False, occurrence.error)


async def test_payload_size_is_bounded(triggers: TriggerService, workflow: Workflow) -> None:
    trigger = await create(triggers, workflow)
    big = {"user": "x" * MAX_PAYLOAD_BYTES, "amount": 1}
    for call in (triggers.publish(event(big)), triggers.test_trigger(trigger.id, big)):
        with pytest.raises(FlowqlError) as caught:
            await call
        assert (caught.value.code, caught.value.field) == (ErrorCode.VALIDATION, "payload")


async def test_sandboxed_expressions_dispatch_and_time_out(engine: Engine, workflow: Workflow) -> None:
    triggers = TriggerService(engine.store, engine.orchestration, sandbox=Sandbox(timeout=0.3))
    try:
        await create(
            triggers,
            workflow,
            filter="event.postings.exists(p, p.amount > 100)",
            vars={
                "user": "event.user",
                "amount": "string(event.postings.filter(p, p.amount > 100)[0].amount)",
            },
        )
        payload = {"user": "3", "postings": [{"amount": 1}, {"amount": 150}]}
        [occurrence] = await triggers.publish(event(payload))
        assert occurrence.error is None
        assert occurrence.workflow_instance_id is not None
        instance = await engine.orchestration.get_instance(occurrence.workflow_instance_id)
        assert instance.variables == {"user": "3", "amount": "150"}

        await create(
            triggers, workflow, event="SLOW", filter="event.l.map(x, event.l.map(y, x + y)).size() > 0"
        )
        errors: list[None] = []
        triggers.add_filter_error_listener(lambda: errors.append(None))
        assert await triggers.publish(event({"l": list(range(3000))}, type="SLOW")) == []
        assert len(errors) == 1  # timed out: skipped and counted
    finally:
        await triggers.close()


# --- test_trigger ----------------------------------------------------------------------


async def test_test_trigger_evaluates_and_starts_nothing(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    trigger = await create(
        triggers, workflow, filter="event.amount > 10", vars={"user": "event.user", "amount": "event.amount"}
    )
    result = await triggers.test_trigger(trigger.id, {"user": "5", "amount": 50})
    assert (result.match, result.error) == (True, None)
    assert {k: (v.value, v.error) for k, v in result.variables.items()} == {
        "user": ("5", None),
        "amount": ("50", None),
    }
    result = await triggers.test_trigger(trigger.id, {"amount": 5})
    assert (result.match, result.error) == (False, None)
    assert result.variables == {}  # Formance evaluates vars only when the filter matches
    plain = await create(triggers, workflow, event="PLAIN", vars={"user": "event.user"})
    result = await triggers.test_trigger(plain.id, {})
    assert result.has_filter is False and result.match is True
    assert result.variables["user"].value == "null"  # a missing key is nil (expr-lang)
    result = await triggers.test_trigger(trigger.id, {"amount": "x"})
    assert result.match is False and result.error is not None
    assert await instance_count(engine) == 0
    assert (await triggers.list_occurrences(trigger.id, PageRequest())).items == []
    await triggers.delete_trigger(trigger.id)
    with pytest.raises(FlowqlError) as caught:
        await triggers.test_trigger(trigger.id, {})
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_occurrences_are_paged_newest_first(triggers: TriggerService, workflow: Workflow) -> None:
    trigger = await create(triggers, workflow, filter="event.n >= 0", vars={})
    for n in range(5):
        await triggers.publish(event({"n": n}, id=f"e{n}"))
    first = await triggers.list_occurrences(trigger.id, PageRequest(page_size=3))
    assert [o.event["payload"]["n"] for o in first.items] == [4, 3, 2]
    assert first.has_more and first.next is not None
    second = await triggers.list_occurrences(trigger.id, PageRequest.of(None, first.next))
    assert [o.event["payload"]["n"] for o in second.items] == [1, 0]
    with pytest.raises(FlowqlError) as caught:
        await triggers.list_occurrences("nope", PageRequest())
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_saved_payment_starts_once_per_payment_id(
    engine: Engine, triggers: TriggerService, workflow: Workflow
) -> None:
    await create(triggers, workflow, event="SAVED_PAYMENT")
    payment = {"id": "pay-1", "user": "1", "amount": 5}
    [first] = await triggers.publish(event(payment, type="SAVED_PAYMENT", id="m1"))
    assert first.workflow_instance_id is not None
    assert await triggers.publish(event(payment | {"amount": 6}, type="SAVED_PAYMENT", id="m2")) == []
    [other] = await triggers.publish(event(payment | {"id": "pay-2"}, type="SAVED_PAYMENT", id="m3"))
    assert other.workflow_instance_id not in (None, first.workflow_instance_id)
    assert first.event["idempotencyKey"] == "m1" and first.event["type"] == "SAVED_PAYMENT"
