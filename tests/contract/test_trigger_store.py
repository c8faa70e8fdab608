"""`TriggerStore`: triggers by id, name and event type; occurrences deduplicated per event.

Run on every backend by the `store` fixture (conftest.py)."""

from __future__ import annotations

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.pagination import PageRequest
from flowql.engine.store import TriggerStore

from .factories import at, occurrence, trigger


async def test_triggers_by_name_and_event(store: TriggerStore) -> None:
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


async def test_duplicate_trigger_ids_are_conflicts(store: TriggerStore) -> None:
    first = trigger("wf", ident="t1")
    await store.insert_trigger(first)
    with pytest.raises(FlowqlError) as caught:
        await store.insert_trigger(trigger("wf", "other.event", ident="t1"))
    assert caught.value.code is ErrorCode.CONFLICT
    assert await store.get_trigger("t1") == first


async def test_trigger_name_filter_is_a_plain_substring(store: TriggerStore) -> None:
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


async def triggers_for(store: TriggerStore, event: str) -> list[str]:
    return sorted(t.id for t in await store.triggers_for_event(event))


async def test_occurrences_dedup_and_newest_first(store: TriggerStore) -> None:
    assert await store.insert_occurrence(occurrence("t1", 1, event_id="e1"))
    assert not await store.insert_occurrence(occurrence("t1", 2, event_id="e1"))
    assert await store.insert_occurrence(occurrence("t2", 2, event_id="e1"))
    assert await store.insert_occurrence(occurrence("t1", 3))
    assert await store.insert_occurrence(occurrence("t1", 4))  # no event id: never a duplicate
    page = await store.list_occurrences("t1", PageRequest(10))
    assert [o.date for o in page.items] == [at(4), at(3), at(1)]


async def test_occurrences_round_trip_exactly(store: TriggerStore) -> None:
    found = occurrence("t1", 2, event_id="ev1", ident="o1").model_copy(
        update={"event": {"amount": 2**70, "payload": {"list": [1.5, True, None]}}, "error": "boom"}
    )
    await store.insert_occurrence(found)
    assert (await store.list_occurrences("t1", PageRequest(5))).items == [found]


async def test_occurrences_page_newest_first_per_trigger(store: TriggerStore) -> None:
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
