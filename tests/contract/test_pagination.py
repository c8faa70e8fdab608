"""Cursor pagination over (createdAt, id), both directions, at the edges."""

from __future__ import annotations

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.pagination import PageRequest
from flowql.engine.store import Store

from .factories import instance


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
