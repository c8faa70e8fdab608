"""Workflows, instances, transitions, inbox and triggers: the same behaviour on every store."""

from __future__ import annotations

import asyncio

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError, VersionConflict
from flowql.engine.models import InstanceStatus, Wallet
from flowql.engine.pagination import PageRequest
from flowql.engine.store import Store

from .factories import at, inbox_event, instance, occurrence, transition, trigger, workflow


async def test_workflow_crud_and_soft_delete(store: Store) -> None:
    first, second = workflow(1), workflow(2)
    for wf in (first, second):
        await store.insert_workflow(wf)
    assert await store.get_workflow(first.id) == first
    assert await store.get_workflow("missing") is None
    assert await store.get_workflows([first.id, second.id, "missing"]) == {first.id: first, second.id: second}
    assert await store.delete_workflow(first.id, at(10))
    assert not await store.delete_workflow(first.id, at(11))
    assert not await store.delete_workflow("missing", at(11))
    listed = await store.list_workflows(PageRequest(10))
    assert [w.id for w in listed.items] == [second.id]
    deleted = await store.get_workflow(first.id)
    assert deleted is not None and deleted.deleted_at == at(10)


async def test_instances_insert_get_filter(store: Store) -> None:
    wf_a, wf_b = workflow(), workflow()
    a1 = instance(wf_a.id, 1)
    a2 = instance(wf_a.id, 2, status=InstanceStatus.SUCCEEDED, terminated_at=at(3))
    b1 = instance(wf_b.id, 3)
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


async def test_compare_and_set_lets_exactly_one_racing_writer_win(store: Store) -> None:
    inst = instance("wf")
    await store.insert_instance(inst, [])
    left = inst.model_copy(update={"error": "left"})
    right = inst.model_copy(update={"error": "right"})
    results = await asyncio.gather(
        store.save_instance(left, expected_version=0, transitions=[transition(inst, 1)]),
        store.save_instance(right, expected_version=0, transitions=[transition(inst, 1)]),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], VersionConflict)
    stored = await store.get_instance(inst.id)
    assert stored is not None and stored.version == 1 and stored.error == winners[0].error
    assert len(await store.list_transitions(inst.id)) == 1  # the loser wrote nothing


async def test_transitions_are_appended_in_order(store: Store) -> None:
    inst = instance("wf")
    await store.insert_instance(inst, [transition(inst, 1)])
    saved = await store.save_instance(
        inst, expected_version=0, transitions=[transition(inst, 2), transition(inst, 3)]
    )
    assert saved.version == 1
    await store.save_instance(saved, expected_version=1, transitions=[transition(inst, 4)])
    assert [t.seq for t in await store.list_transitions(inst.id)] == [1, 2, 3, 4]
    assert [t.seq for t in await store.list_transitions(inst.id, after_seq=2)] == [3, 4]
    assert await store.list_transitions("other") == []


async def test_due_time_index(store: Store) -> None:
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


async def test_inbox_is_durable_and_ordered(store: Store) -> None:
    await store.append_event(inbox_event("i1", "b", 2))
    await store.append_event(inbox_event("i1", "a", 1))
    await store.append_event(inbox_event("i2", "c", 1))
    assert [e.name for e in await store.list_inbox("i1")] == ["a", "b"]
    assert await store.list_inbox("none") == []


async def test_triggers_by_name_and_event(store: Store) -> None:
    paid = trigger("wf", "payment.created", "on-payment", 1)
    other = trigger("wf", "payment.created", "audit", 2)
    refund = trigger("wf", "refund.created", "on-refund", 3)
    for t in (paid, other, refund):
        await store.insert_trigger(t)
    assert await store.get_trigger(paid.id) == paid
    names = await store.list_triggers(PageRequest(10), name="on-")
    assert [t.id for t in names.items] == [refund.id, paid.id]
    assert [t.id for t in await store.triggers_for_event("payment.created")] == [paid.id, other.id]
    assert await store.delete_trigger(paid.id, at(5))
    assert not await store.delete_trigger(paid.id, at(6))
    assert [t.id for t in await store.triggers_for_event("payment.created")] == [other.id]
    assert [t.id for t in (await store.list_triggers(PageRequest(10))).items] == [refund.id, other.id]


async def test_occurrences_dedup_and_newest_first(store: Store) -> None:
    assert await store.insert_occurrence(occurrence("t1", 1, event_id="e1"))
    assert not await store.insert_occurrence(occurrence("t1", 2, event_id="e1"))
    assert await store.insert_occurrence(occurrence("t2", 2, event_id="e1"))
    assert await store.insert_occurrence(occurrence("t1", 3))
    assert await store.insert_occurrence(occurrence("t1", 4))  # no event id: never a duplicate
    page = await store.list_occurrences("t1", PageRequest(10))
    assert [o.date for o in page.items] == [at(4), at(3), at(1)]


async def test_wallets(store: Store) -> None:
    wallet = Wallet(id="w1", name="alice", ledger="default", created_at=at(0))
    await store.insert_wallet(wallet)
    assert await store.get_wallet("w1") == wallet
    assert await store.get_wallet_by_name("default", "alice") == wallet
    assert await store.get_wallet_by_name(None, "alice") == wallet
    assert await store.get_wallet_by_name("other", "alice") is None
    with pytest.raises(FlowqlError) as caught:
        await store.insert_wallet(wallet.model_copy(update={"id": "w2"}))
    assert caught.value.code is ErrorCode.CONFLICT
    assert await store.get_wallet("w2") is None
