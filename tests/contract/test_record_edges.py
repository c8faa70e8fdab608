"""Edges of the record operations: duplicate ids, full round trips, lost CAS writes in a
crowd, timers and counts after termination, name filters that look like patterns."""

from __future__ import annotations

import asyncio

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError, VersionConflict
from flowql.engine.models import Activity, Instance, InstanceStatus, StageState, StageStatus
from flowql.engine.pagination import PageRequest
from flowql.engine.stages import StageKind
from flowql.engine.store import Store

from .factories import at, inbox_event, instance, occurrence, transition, trigger, workflow


def rich_instance(ident: str, seconds: float = 0) -> Instance:
    """An instance with every kind of field set, to catch lossy encodings."""
    return instance(
        "wf",
        seconds,
        ident=ident,
        variables={"amount": "100", "unicode": "café ✓", "empty": ""},
        stages=[
            StageState(
                stage=0,
                kind=StageKind.SEND,
                status=StageStatus.SUCCEEDED,
                started_at=at(seconds),
                terminated_at=at(seconds + 0.5),
                history=[
                    Activity(
                        name="CreateTransaction",
                        input={"amount": 2**70, "nested": {"list": [1, "two", None]}},
                        output={"id": 1},
                        terminated=True,
                        started_at=at(seconds),
                        terminated_at=at(seconds + 0.25),
                        attempt=2,
                        last_failure="timeout",
                    )
                ],
            ),
            StageState(
                stage=1, kind=StageKind.WAIT_EVENT, status=StageStatus.WAITING, started_at=at(seconds + 1)
            ),
        ],
        waiting_for="approved",
        consumed_events=["e1", "e2"],
        transition_count=3,
        wake_at=at(seconds + 60.123),
    )


async def test_duplicate_workflow_and_trigger_ids_are_conflicts(store: Store) -> None:
    first = workflow(1, ident="w1")
    await store.insert_workflow(first)
    with pytest.raises(FlowqlError) as caught:
        await store.insert_workflow(workflow(2, "other", ident="w1"))
    assert caught.value.code is ErrorCode.CONFLICT
    assert await store.get_workflow("w1") == first

    await store.insert_trigger(trigger("wf", ident="t1"))
    with pytest.raises(FlowqlError) as caught:
        await store.insert_trigger(trigger("wf", "other.event", ident="t1"))
    assert caught.value.code is ErrorCode.CONFLICT


async def test_records_round_trip_exactly(store: Store) -> None:
    record = rich_instance("i1")
    await store.insert_instance(record, [transition(record, 1)])
    assert await store.get_instance("i1") == record
    assert (await store.get_instances(["i1"]))["i1"] == record
    assert (await store.list_instances(PageRequest(1))).items == [record]

    event = inbox_event("i1", "approved", 3.5, ident="e1")
    await store.append_event(event)
    assert await store.list_inbox("i1") == [event]

    found = occurrence("t1", 2, event_id="ev1", ident="o1").model_copy(
        update={"event": {"amount": 2**70, "payload": {"list": [1.5, True, None]}}, "error": "boom"}
    )
    await store.insert_occurrence(found)
    assert (await store.list_occurrences("t1", PageRequest(5))).items == [found]


async def test_get_workflows_ignores_duplicates_and_empty_requests(store: Store) -> None:
    record = workflow(ident="w1")
    await store.insert_workflow(record)
    assert await store.get_workflows(["w1", "w1", "missing"]) == {"w1": record}
    assert await store.get_workflows([]) == {}
    assert await store.get_instances([]) == {}


async def test_save_returns_what_it_stored_and_refuses_stale_or_unknown(store: Store) -> None:
    record = rich_instance("i1")
    await store.insert_instance(record, [])
    changed = record.model_copy(update={"variables": {"x": "1"}, "wake_at": None})
    saved = await store.save_instance(changed, expected_version=0, transitions=[transition(record, 1)])
    assert saved.version == 1 and saved.variables == {"x": "1"}
    assert await store.get_instance("i1") == saved

    with pytest.raises(VersionConflict):
        await store.save_instance(record, expected_version=0, transitions=[transition(record, 2)])
    assert await store.get_instance("i1") == saved
    assert [t.seq for t in await store.list_transitions("i1")] == [1]

    with pytest.raises(VersionConflict):
        await store.save_instance(instance("wf", ident="ghost"), expected_version=0, transitions=[])
    assert await store.get_instance("ghost") is None
    assert (await store.save_instance(saved, expected_version=1, transitions=[])).version == 2


async def test_lost_writes_in_a_crowd_fail_alone(store: Store) -> None:
    records = [instance("wf", n, ident=f"i{n:02}") for n in range(20)]
    for record in records:
        await store.insert_instance(record, [])
    saves = []
    for record in records:
        for who in ("a", "b"):
            mine = record.model_copy(update={"error": who})
            saves.append(store.save_instance(mine, expected_version=0, transitions=[transition(mine, 1)]))
    outcomes = await asyncio.gather(*saves, return_exceptions=True)
    assert sum(isinstance(o, Instance) for o in outcomes) == 20
    assert all(isinstance(o, Instance | VersionConflict) for o in outcomes)
    for record in records:
        stored = await store.get_instance(record.id)
        assert stored is not None and stored.version == 1
        assert len(await store.list_transitions(record.id)) == 1


async def test_timers_and_counts_follow_termination(store: Store) -> None:
    assert await store.next_wake_at() is None
    assert await store.due_instances(at(1000), 10) == []
    assert await store.running_instance_ids() == []
    soon = instance("wf", 1, ident="soon", wake_at=at(10))
    late = instance("wf", 2, ident="late", wake_at=at(50))
    await store.insert_instance(soon, [])
    await store.insert_instance(late, [])
    assert await store.due_instances(at(10), 10) == ["soon"]  # due at exactly its time

    cancelled = soon.model_copy(update={"status": InstanceStatus.CANCELLED, "terminated_at": at(5)})
    await store.save_instance(cancelled, expected_version=0, transitions=[])
    assert await store.next_wake_at() == at(50)
    assert await store.due_instances(at(1000), 10) == ["late"]
    assert await store.running_instance_ids() == ["late"]
    counts = {status: n for status, n in (await store.count_instances()).items() if n}
    assert counts == {InstanceStatus.RUNNING: 1, InstanceStatus.CANCELLED: 1}


async def test_trigger_name_filter_is_a_plain_substring(store: Store) -> None:
    await store.insert_trigger(trigger("wf", name="pay.ments [eu]", seconds=1, ident="t1"))
    await store.insert_trigger(trigger("wf", name="payments", seconds=2, ident="t2"))
    await store.insert_trigger(trigger("wf", name=None, seconds=3, ident="t3"))
    await store.insert_trigger(trigger("wf", name="old payments", seconds=4, ident="t4"))
    await store.delete_trigger("t4", at(5))

    async def matching(name: str | None) -> list[str]:
        return [t.id for t in (await store.list_triggers(PageRequest(10), name=name)).items]

    assert await matching(None) == ["t3", "t2", "t1"]
    assert await matching("pay") == ["t2", "t1"]
    assert await matching("y.m") == ["t1"]  # a dot is a dot, not "any character"
    assert await matching("[eu]") == ["t1"]
    assert await matching(".*") == []
    assert await matching("ments") == ["t2", "t1"]
    assert await triggers_for(store, "payment.created") == ["t1", "t2", "t3"]
    assert await triggers_for(store, "payment") == []


async def triggers_for(store: Store, event: str) -> list[str]:
    return sorted(t.id for t in await store.triggers_for_event(event))


async def test_occurrences_page_newest_first_per_trigger(store: Store) -> None:
    for n in range(7):
        await store.insert_occurrence(occurrence("t1", n // 2, event_id=f"e{n}", ident=f"o{n}"))
    await store.insert_occurrence(occurrence("t2", 100, ident="other"))
    seen: list[str] = []
    request = PageRequest(3)
    while True:
        page = await store.list_occurrences("t1", request)
        seen += [o.id for o in page.items]
        if page.next is None:
            break
        request = PageRequest.of(cursor=page.next)
    assert seen == ["o6", "o5", "o4", "o3", "o2", "o1", "o0"]
