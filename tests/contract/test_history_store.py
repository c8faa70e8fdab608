"""`InstanceStore`'s rows beside the instance: stage history entries, paged transitions and
the inbox's positions. Run on every backend by the `store` fixture (conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from flowql.engine.errors import VersionConflict
from flowql.engine.models import Activity, HistoryEntry, Instance, StageState, StageStatus
from flowql.engine.stages import StageKind
from flowql.engine.store import MAX_ROWS, HistoryRange, InstanceStore

from .factories import at, inbox_event, instance, transition


def waiting(ident: str = "i1", history_count: int = 0) -> Instance:
    stage = StageState(
        stage=0,
        kind=StageKind.WAIT_EVENT,
        status=StageStatus.WAITING,
        started_at=at(0),
        history_count=history_count,
    )
    return instance("wf", ident=ident, stages=[stage])


def entry(inst: Instance, n: int, name: str = "IgnoreEvent", stage: int = 0) -> HistoryEntry:
    activity = Activity(
        name=name,
        input={"name": f"e{n}", "a.b": {"$in": 2**70}},
        output={"matched": False},
        terminated=True,
        started_at=at(n),
        terminated_at=at(n + 0.5),
    )
    return HistoryEntry(instance_id=inst.id, stage=stage, n=n, activity=activity)


def counted(inst: Instance, history_count: int) -> Instance:
    stages = [inst.stages[0].model_copy(update={"history_count": history_count})]
    return inst.model_copy(update={"stages": stages})


async def read(store: InstanceStore, inst: Instance, after: int, until: int) -> list[int]:
    found = await store.get_history([HistoryRange(inst.id, 0, after, until)])
    return [e.n for e in found[(inst.id, 0)]]


async def test_history_entries_round_trip_and_page(store: InstanceStore) -> None:
    inst = waiting(history_count=2)
    first = [entry(inst, 1), entry(inst, 2, name="ReceiveEvent")]
    await store.insert_instance(inst, [], first)
    found = await store.get_history([HistoryRange(inst.id, 0, 0, 2)])
    assert found == {(inst.id, 0): first}
    more = [entry(inst, n) for n in range(3, 8)]
    await store.save_instance(counted(inst, 7), expected_version=0, transitions=[], history=more)
    assert await read(store, inst, 0, 7) == [1, 2, 3, 4, 5, 6, 7]
    assert await read(store, inst, 2, 5) == [3, 4, 5]
    assert await read(store, inst, 7, 7) == []


async def test_history_of_many_stages_in_one_read(store: InstanceStore) -> None:
    a, b = waiting("a", 3), waiting("b", 1)
    await store.insert_instance(a, [], [entry(a, n) for n in (1, 2, 3)] + [entry(a, 1, stage=1)])
    await store.insert_instance(b, [], [entry(b, 1)])
    ranges = [HistoryRange("a", 0, 1, 3), HistoryRange("a", 1, 0, 1), HistoryRange("b", 0, 0, 1)]
    ranges.append(HistoryRange("ghost", 0, 0, 5))
    found = await store.get_history(ranges)
    assert {key: [e.n for e in rows] for key, rows in found.items()} == {
        ("a", 0): [2, 3],
        ("a", 1): [1],
        ("b", 0): [1],
        ("ghost", 0): [],
    }
    assert await store.get_history([]) == {}


def test_history_ranges_are_bounded() -> None:
    with pytest.raises(ValueError):
        HistoryRange("a", 0, 0, MAX_ROWS + 1)
    with pytest.raises(ValueError):
        HistoryRange("a", 0, 5, 4)


async def test_a_lost_save_leaves_no_history_and_a_later_save_replaces_its_rows(store: InstanceStore) -> None:
    """Rows are written before the instance: an entry past `history_count` (a save that lost
    after writing, or crashed) is never read, and the next save of that n replaces it."""
    inst = waiting()
    await store.insert_instance(inst, [], [entry(inst, 1, name="Lost")])  # not counted
    assert await read(store, inst, 0, 0) == []
    left = counted(inst, 1).model_copy(update={"error": "left"})
    right = counted(inst, 1).model_copy(update={"error": "right"})
    saves = [
        store.save_instance(mine, expected_version=0, transitions=[], history=[entry(inst, 1, name=who)])
        for mine, who in ((left, "left"), (right, "right"))
    ]
    outcomes = await asyncio.gather(*saves, return_exceptions=True)
    [winner] = [o for o in outcomes if isinstance(o, Instance)]
    assert sum(isinstance(o, VersionConflict) for o in outcomes) == 1
    found = await store.get_history([HistoryRange(inst.id, 0, 0, 1)])
    assert [e.activity.name for e in found[(inst.id, 0)]] == [winner.error]


async def test_transitions_are_read_in_pages(store: InstanceStore) -> None:
    inst = instance("wf", transition_count=25)
    await store.insert_instance(inst, [transition(inst, seq) for seq in range(1, 27)])  # 26: not counted
    pages, after = [], 0
    while page := await store.list_transitions(inst.id, after, limit=10):
        pages.append([t.seq for t in page])
        after = page[-1].seq
    assert pages == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert len(await store.list_transitions(inst.id, 0, limit=MAX_ROWS * 5)) == 25  # capped, not refused


async def test_inbox_is_read_in_pages_after_a_position(store: InstanceStore) -> None:
    for n in range(12):
        await store.append_event(inbox_event("i1", f"e{n}", n))
    assert [e.position for e in await store.list_inbox("i1", 0, 5)] == [1, 2, 3, 4, 5]
    assert [e.name for e in await store.list_inbox("i1", 10, 5)] == ["e10", "e11"]
    assert await store.list_inbox("i1", 12) == []


async def test_racing_appends_get_distinct_positions_without_gaps(store: InstanceStore) -> None:
    """Exactly-once consumption reads the inbox after a position: no gap may ever appear."""
    events = [inbox_event("i1", f"e{n}", n) for n in range(20)]
    stored = await asyncio.gather(*(store.append_event(e) for e in events))
    assert sorted(e.position for e in stored) == list(range(1, 21))
    listed = await store.list_inbox("i1")
    assert [e.position for e in listed] == list(range(1, 21))
    assert {e.id for e in listed} == {e.id for e in events}
