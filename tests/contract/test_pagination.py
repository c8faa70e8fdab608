"""Cursor pagination over (createdAt, id), both directions, at the edges."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import InstanceStatus
from flowql.engine.pagination import PageRequest
from flowql.engine.store import Store

from .factories import instance, trigger, workflow


async def seed(store: Store, count: int, same_time: bool = False) -> list[str]:
    ids = []
    for n in range(count):
        inst = instance("wf", 0 if same_time else n)
        await store.insert_instance(inst, [])
        ids.append(inst.id)
    ordered = sorted(ids) if same_time else ids
    return list(reversed(ordered))  # newest first


async def test_empty_list(store: Store) -> None:
    page = await store.list_instances(PageRequest(10))
    assert page.items == [] and not page.has_more and page.next is None and page.previous is None


async def test_exactly_one_page(store: Store) -> None:
    expected = await seed(store, 5)
    page = await store.list_instances(PageRequest(5))
    assert [i.id for i in page.items] == expected
    assert not page.has_more and page.next is None and page.previous is None


@pytest.mark.parametrize("same_time", [False, True], ids=["distinct-times", "same-time-ties-on-id"])
async def test_walk_forward_then_back(store: Store, same_time: bool) -> None:
    expected = await seed(store, 7, same_time)
    pages = []
    page = await store.list_instances(PageRequest(3))
    pages.append([i.id for i in page.items])
    while page.next:
        page = await store.list_instances(PageRequest.of(cursor=page.next))
        pages.append([i.id for i in page.items])
    assert [i for p in pages for i in p] == expected
    assert [len(p) for p in pages] == [3, 3, 1]
    assert not page.has_more
    back = []
    while page.previous:
        page = await store.list_instances(PageRequest.of(cursor=page.previous))
        back.append([i.id for i in page.items])
    assert back == [pages[1], pages[0]]


async def test_page_sizes_1000_and_1001(store: Store) -> None:
    await seed(store, 3)
    assert len((await store.list_instances(PageRequest.of(1000))).items) == 3
    with pytest.raises(FlowqlError) as caught:
        PageRequest.of(1001)
    assert caught.value.code is ErrorCode.VALIDATION


async def test_corrupted_cursor_is_a_validation_error(store: Store) -> None:
    with pytest.raises(FlowqlError) as caught:
        await store.list_instances(PageRequest.of(cursor="definitely-not-a-cursor"))
    assert caught.value.code is ErrorCode.VALIDATION


async def test_a_full_page_of_1000(store: Store) -> None:
    records = [instance("wf", n // 7, ident=f"i{n:04}") for n in range(1001)]
    await asyncio.gather(*(store.insert_instance(r, []) for r in records))
    expected = [r.id for r in sorted(records, key=lambda r: (r.created_at, r.id), reverse=True)]
    page = await store.list_instances(PageRequest.of(1000))
    assert [i.id for i in page.items] == expected[:1000] and page.has_more and page.next
    last = await store.list_instances(PageRequest.of(cursor=page.next))
    assert [i.id for i in last.items] == expected[1000:] and not last.has_more and last.next is None


async def test_a_cursor_is_a_position_not_an_offset(store: Store) -> None:
    for n in range(6):
        await store.insert_instance(instance("wf", n, ident=f"i{n}"), [])
    first = await store.list_instances(PageRequest(3))
    await store.insert_instance(instance("wf", 100, ident="newest"), [])
    assert first.next is not None
    second = await store.list_instances(PageRequest.of(cursor=first.next))
    assert [i.id for i in second.items] == ["i2", "i1", "i0"]
    assert second.previous is not None
    back = await store.list_instances(PageRequest.of(cursor=second.previous))
    assert [i.id for i in back.items] == ["i5", "i4", "i3"]
    assert back.previous is not None  # "newest" now sits above the first page


async def test_filtered_lists_page(store: Store) -> None:
    for n in range(9):
        done = {"status": InstanceStatus.SUCCEEDED} if n % 4 == 0 else {}
        await store.insert_instance(instance("a" if n % 3 else "b", n, ident=f"i{n}", **done), [])
    seen: list[str] = []
    request = PageRequest(2)
    while True:
        page = await store.list_instances(request, workflow_id="a", running=True)
        seen += [i.id for i in page.items]
        if page.next is None:
            break
        request = PageRequest.of(cursor=page.next)
    assert seen == ["i7", "i5", "i2", "i1"]


async def test_workflows_and_triggers_page(store: Store) -> None:
    for n in range(5):
        await store.insert_workflow(workflow(n // 2, ident=f"w{n}"))
        await store.insert_trigger(trigger("wf", name="x", seconds=n // 2, ident=f"t{n}"))
    first = await store.list_workflows(PageRequest(3))
    assert [w.id for w in first.items] == ["w4", "w3", "w2"] and first.next is not None
    rest = await store.list_workflows(PageRequest.of(cursor=first.next))
    assert [w.id for w in rest.items] == ["w1", "w0"] and rest.next is None
    first_t = await store.list_triggers(PageRequest(4), name="x")
    assert first_t.next is not None
    rest_t = await store.list_triggers(PageRequest.of(cursor=first_t.next), name="x")
    assert [t.id for t in first_t.items + rest_t.items] == ["t4", "t3", "t2", "t1", "t0"]


def _encode(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        _encode({"x": 1}),
        _encode([1, 2]),
        _encode({"c": 5, "i": "x", "d": "next", "s": 3}),
        _encode({"c": "yesterday", "i": "x", "d": "next", "s": 3}),
        _encode({"c": "2026-01-01T00:00:00.000Z", "i": "x", "d": "sideways", "s": 3}),
        _encode({"c": "2026-01-01T00:00:00.000Z", "i": "x", "d": "next", "s": 0}),
        _encode({"c": "2026-01-01T00:00:00.000Z", "i": "x", "d": "next", "s": 1001}),
    ],
    ids=[
        "not-base64",
        "no-keys",
        "a-list",
        "time-not-a-string",
        "bad-time",
        "bad-direction",
        "size-0",
        "size-1001",
    ],
)
async def test_every_corrupted_cursor_is_a_validation_error(store: Store, cursor: str) -> None:
    with pytest.raises(FlowqlError) as caught:
        await store.list_instances(PageRequest.of(cursor=cursor))
    assert caught.value.code is ErrorCode.VALIDATION
