"""`InstanceStore`: instances and their compare-and-set, transitions, the wake-up index and
the inbox.

Run on every backend by the `store` fixture (conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError, VersionConflict
from flowql.engine.models import Activity, Instance, InstanceStatus, StageState, StageStatus
from flowql.engine.pagination import PageRequest
from flowql.engine.stages import StageKind
from flowql.engine.store import InstanceStore

from .factories import at, inbox_event, instance, transition, workflow


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
                history_count=1,
                succeeded=1,
            ),
            StageState(
                stage=1,
                kind=StageKind.WAIT_EVENT,
                status=StageStatus.WAITING,
                started_at=at(seconds + 1),
                pending=Activity(
                    name="CreateTransaction",
                    input={"amount": 2**70, "nested": {"list": [1, "two", None]}, "a.b": {"$x": ""}},
                    started_at=at(seconds),
                    attempt=2,
                    last_failure="timeout",
                    next_execution=at(seconds + 2.5),
                ),
            ),
        ],
        waiting_for="approved",
        inbox_cursor=2,
        transition_count=3,
        wake_at=at(seconds + 60.123),
    )


async def test_instances_insert_get_filter(store: InstanceStore) -> None:
    wf_a, wf_b = workflow(), workflow()
    a1 = instance(wf_a.id, 1, transition_count=1)
    a2 = instance(wf_a.id, 2, status=InstanceStatus.SUCCEEDED, terminated_at=at(3), transition_count=1)
    b1 = instance(wf_b.id, 3, transition_count=1)
    for inst in (a1, a2, b1):
        await store.insert_instance(inst, [transition(inst, 1)])
    with pytest.raises(FlowqlError) as caught:
        await store.insert_instance(a1, [])
    assert caught.value.code is ErrorCode.CONFLICT
    assert await store.get_instance(a1.id) == a1
    assert set(await store.get_instances([a1.id, b1.id, "x"])) == {a1.id, b1.id}
    ids = lambda page: [i.id for i in page.items]  # noqa: E731
    assert ids(await store.list_instances(PageRequest(10))) == [b1.id, a2.id, a1.id]
    assert ids(await store.list_instances(PageRequest(10), workflow_id=wf_a.id)) == [a2.id, a1.id]
    assert ids(await store.list_instances(PageRequest(10), running=True)) == [b1.id, a1.id]
    assert ids(await store.list_instances(PageRequest(10), workflow_id=wf_a.id, running=False)) == [a2.id]
    assert sorted(await store.running_instance_ids()) == sorted([a1.id, b1.id])
    assert await store.count_instances() == {InstanceStatus.RUNNING: 2, InstanceStatus.SUCCEEDED: 1}


async def test_instances_and_inbox_round_trip_exactly(store: InstanceStore) -> None:
    record = rich_instance("i1")
    await store.insert_instance(record, [transition(record, 1)])
    assert await store.get_instance("i1") == record
    assert (await store.get_instances(["i1"]))["i1"] == record
    assert (await store.get_instances(["i1", "i1"])) == {"i1": record}
    assert await store.get_instances([]) == {}
    assert (await store.list_instances(PageRequest(1))).items == [record]

    event = inbox_event("i1", "approved", 3.5, ident="e1")
    stored = await store.append_event(event)
    assert stored == event.model_copy(update={"position": 1})
    assert await store.list_inbox("i1") == [stored]


async def test_compare_and_set_lets_exactly_one_racing_writer_win(store: InstanceStore) -> None:
    inst = instance("wf")
    await store.insert_instance(inst, [])
    left = inst.model_copy(update={"error": "left", "transition_count": 1})
    right = inst.model_copy(update={"error": "right", "transition_count": 1})
    results = await asyncio.gather(
        store.save_instance(left, expected_version=0, transitions=[transition(left, 1, error="left")]),
        store.save_instance(right, expected_version=0, transitions=[transition(right, 1, error="right")]),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], VersionConflict)
    stored = await store.get_instance(inst.id)
    assert stored is not None and stored.version == 1 and stored.error == winners[0].error
    # the loser's transition is nowhere, not even in place of the winner's
    assert [t.error for t in await store.list_transitions(inst.id)] == [winners[0].error]


async def test_save_returns_what_it_stored_and_refuses_stale_or_unknown(store: InstanceStore) -> None:
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


async def test_lost_writes_in_a_crowd_fail_alone(store: InstanceStore) -> None:
    records = [instance("wf", n, ident=f"i{n:02}") for n in range(20)]
    for record in records:
        await store.insert_instance(record, [])
    saves = []
    for record in records:
        for who in ("a", "b"):
            mine = record.model_copy(update={"error": who, "transition_count": 1})
            moved = [transition(mine, 1, error=who)]
            saves.append(store.save_instance(mine, expected_version=0, transitions=moved))
    outcomes = await asyncio.gather(*saves, return_exceptions=True)
    assert sum(isinstance(o, Instance) for o in outcomes) == 20
    assert all(isinstance(o, Instance | VersionConflict) for o in outcomes)
    for record in records:
        stored = await store.get_instance(record.id)
        assert stored is not None and stored.version == 1
        assert [t.error for t in await store.list_transitions(record.id)] == [stored.error]


async def test_transitions_are_appended_in_order(store: InstanceStore) -> None:
    inst = instance("wf", transition_count=1)
    await store.insert_instance(inst, [transition(inst, 1)])
    saved = await store.save_instance(
        counted(inst, 3), expected_version=0, transitions=[transition(inst, 2), transition(inst, 3)]
    )
    assert saved.version == 1
    await store.save_instance(counted(saved, 4), expected_version=1, transitions=[transition(inst, 4)])
    assert [t.seq for t in await store.list_transitions(inst.id)] == [1, 2, 3, 4]
    assert [t.seq for t in await store.list_transitions(inst.id, after_seq=2)] == [3, 4]
    assert await store.list_transitions("other") == []


def counted(inst: Instance, transitions: int) -> Instance:
    """`inst` as the engine saves it with its transitions up to `transitions`."""
    return inst.model_copy(update={"transition_count": transitions})


async def test_a_transition_beyond_the_instance_count_is_not_trusted(store: InstanceStore) -> None:
    """A transition row the instance does not count is from a write that lost (or never
    happened): readers skip it and the next save of that seq replaces it."""
    inst = instance("wf", transition_count=1)
    await store.insert_instance(inst, [transition(inst, 1), transition(inst, 2, error="lost")])
    assert [t.seq for t in await store.list_transitions(inst.id)] == [1]
    await store.save_instance(counted(inst, 2), expected_version=0, transitions=[transition(inst, 2)])
    assert [(t.seq, t.error) for t in await store.list_transitions(inst.id)] == [(1, None), (2, None)]


async def test_due_time_index(store: InstanceStore) -> None:
    early = instance("wf", 1, wake_at=at(100))
    late = instance("wf", 2, wake_at=at(200))
    done = instance("wf", 3, wake_at=at(50), status=InstanceStatus.CANCELLED)
    idle = instance("wf", 4)
    for inst in (early, late, done, idle):
        await store.insert_instance(inst, [])
    assert await store.next_wake_at() == at(100)
    assert await store.due_instances(at(150), 10) == [early.id]
    assert await store.due_instances(at(300), 10) == [early.id, late.id]
    assert await store.due_instances(at(300), 1) == [early.id]
    cleared = early.model_copy(update={"wake_at": None})
    await store.save_instance(cleared, expected_version=0, transitions=[])
    assert await store.next_wake_at() == at(200)


async def test_timers_and_counts_follow_termination(store: InstanceStore) -> None:
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


async def test_inbox_is_durable_and_ordered_by_position(store: InstanceStore) -> None:
    """Positions are given in the order events are appended (not by their times), from 1."""
    await store.append_event(inbox_event("i1", "b", 2))
    await store.append_event(inbox_event("i1", "a", 1))
    await store.append_event(inbox_event("i2", "c", 1))
    assert [(e.position, e.name) for e in await store.list_inbox("i1")] == [(1, "b"), (2, "a")]
    assert [e.position for e in await store.list_inbox("i2")] == [1]
    assert await store.list_inbox("none") == []
