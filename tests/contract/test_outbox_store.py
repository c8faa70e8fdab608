"""`OutboxStore` on every backend: entries written with the transitions, published as far
as the stored transitions cover them, removed only when nothing was added meanwhile."""

from __future__ import annotations

import pytest

from flowql.engine.errors import VersionConflict
from flowql.engine.models import StageStatus
from flowql.engine.store import OutboxEntry, Store

from .factories import instance, occurrence, transition, trigger, workflow


async def pending(store: Store) -> list[tuple[str, int, int]]:
    return [(e.instance_id, e.upto, e.published) for e in await store.pending_outbox(10)]


async def test_nothing_is_recorded_until_the_outbox_is_enabled(store: Store) -> None:
    wf = workflow()
    await store.insert_workflow(wf)
    first = instance(wf.id)
    await store.insert_instance(first, [transition(first, 1)])
    assert await store.pending_outbox(10) == []


async def test_entries_follow_the_transitions_and_go_once_published(store: Store) -> None:
    store.enable_outbox()
    wf = workflow()
    await store.insert_workflow(wf)
    first = instance(wf.id)
    await store.insert_instance(first, [transition(first, 1)])
    assert await pending(store) == [(first.id, 1, 0)]

    saved = await store.save_instance(
        first.model_copy(update={"transition_count": 3}),
        expected_version=first.version,
        transitions=[transition(first, 2, StageStatus.WAITING), transition(first, 3, StageStatus.SUCCEEDED)],
    )
    [entry] = await store.pending_outbox(10)
    assert (entry.instance_id, entry.upto, entry.published) == (first.id, 3, 0)

    await store.mark_published(entry, 2)  # part of it: the entry stays
    assert await pending(store) == [(first.id, 3, 2)]
    stale = OutboxEntry(first.id, 3, 2)
    await store.save_instance(
        saved.model_copy(update={"transition_count": 4}),
        expected_version=saved.version,
        transitions=[transition(first, 4)],
    )
    await store.mark_published(stale, 3)  # a write raised `upto` meanwhile: only `published` moves
    assert await pending(store) == [(first.id, 4, 3)]
    await store.mark_published(OutboxEntry(first.id, 4, 3), 4)
    assert await store.pending_outbox(10) == []


async def test_a_lost_compare_and_set_leaves_an_entry_the_transitions_do_not_cover(store: Store) -> None:
    store.enable_outbox()
    wf = workflow()
    await store.insert_workflow(wf)
    first = instance(wf.id)
    await store.insert_instance(first, [transition(first, 1)])
    await store.mark_published(OutboxEntry(first.id, 1, 0), 1)
    with pytest.raises(VersionConflict):
        await store.save_instance(
            first, expected_version=first.version + 7, transitions=[transition(first, 2)]
        )
    # SQLite writes both in one transaction (nothing left); MongoDB writes the entry first
    assert await pending(store) in ([], [(first.id, 2, 1)])
    assert [t.seq for t in await store.list_transitions(first.id, 1)] == []


async def test_entries_are_read_oldest_first_and_bounded(store: Store) -> None:
    store.enable_outbox()
    wf = workflow()
    await store.insert_workflow(wf)
    made = []
    for i in range(3):
        inst = instance(wf.id, seconds=i)
        await store.insert_instance(inst, [transition(inst, 1)])
        made.append(inst.id)
    assert [e.instance_id for e in await store.pending_outbox(2)] == made[:2]


async def test_an_occurrence_leaves_an_entry_once(store: Store) -> None:
    store.enable_outbox()
    wf = workflow()
    await store.insert_workflow(wf)
    made = trigger(wf.id)
    await store.insert_trigger(made)
    first = occurrence(made.id, 1, event_id="e1")
    assert await store.insert_occurrence(first)
    assert not await store.insert_occurrence(occurrence(made.id, 2, event_id="e1"))  # a duplicate
    [entry] = await store.pending_outbox(10)
    assert (entry.instance_id, entry.upto, entry.published) == (f"occurrence:{first.id}", 1, 0)
    assert entry.since > 0
    assert await store.get_occurrence(first.id) == first
    assert await store.get_occurrence("nope") is None
    await store.mark_published(entry, 1)
    assert await store.pending_outbox(10) == []
