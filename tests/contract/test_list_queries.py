"""The list queries a list screen needs, on every backend: instances by status and creation
time, postings by ledger, account and instance, accounts by address prefix, wallets by
name; each paged with cursors, pages joining up without gaps or repeats.

Run on every backend by the `store` fixture (conftest.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from flowql.engine.models import InstanceStatus, Posting, Wallet
from flowql.engine.pagination import Page, PageRequest
from flowql.engine.store import Store

from .factories import at, instance, occurrence, posting, transition, trigger, workflow

T = TypeVar("T")


async def every_page(read: Callable[[PageRequest], Awaitable[Page[T]]], size: int) -> list[T]:
    """Read a list page by page through its `next` cursors."""
    items: list[T] = []
    request = PageRequest(size)
    for _ in range(100):
        page = await read(request)
        assert len(page.items) <= size
        items.extend(page.items)
        if not page.has_more:
            return items
        assert page.next is not None
        request = PageRequest.of(None, page.next)
    raise AssertionError("more than 100 pages")


async def test_instances_by_status_and_creation_time(store: Store) -> None:
    wf, other = workflow(0), workflow(0)
    await store.insert_workflow(wf)
    await store.insert_workflow(other)
    statuses = [
        InstanceStatus.RUNNING,
        InstanceStatus.SUCCEEDED,
        InstanceStatus.FAILED,
        InstanceStatus.CANCELLED,
    ]
    made = []
    for n in range(12):
        owner = wf if n % 3 else other
        inst = instance(owner.id, n, status=statuses[n % 4])
        await store.insert_instance(inst, [transition(inst, 1)])
        made.append(inst)

    async def ids(**filters: Any) -> list[str]:
        found = await every_page(lambda r: store.list_instances(r, **filters), 2)
        return [i.id for i in found]

    newest_first = [i.id for i in reversed(made)]
    assert await ids() == newest_first
    done = {InstanceStatus.SUCCEEDED, InstanceStatus.FAILED}
    assert await ids(statuses=sorted(done)) == [i.id for i in reversed(made) if i.status in done]
    assert await ids(statuses=[]) == []
    assert await ids(created_after=at(3), created_before=at(8)) == [i.id for i in reversed(made[4:8])]
    expected = [
        i.id for i in reversed(made) if i.workflow_id == wf.id and i.status is InstanceStatus.CANCELLED
    ]
    assert expected and await ids(workflow_id=wf.id, statuses=[InstanceStatus.CANCELLED]) == expected
    assert await ids(running=True, created_before=at(5)) == [made[4].id, made[0].id]


async def test_postings_by_account_and_instance_newest_first(store: Store) -> None:
    stamps = [at(0), at(0), at(5), at(9)]  # two at the same time: the reference breaks the tie
    await store.post(_at(posting("i1:0", "world", "users:1", 10), stamps[0]))
    await store.post(_at(posting("i1:1", "users:1", "users:2", 4), stamps[1]))
    await store.post(_at(posting("i2:0", "world", "users:2", 7), stamps[2]))
    await store.post(_at(posting("i10:0", "world", "users:3", 1), stamps[3]))
    await store.post(_at(posting("x:0", "world", "users:1", 1, ledger="other"), stamps[3]))

    async def refs(**filters: Any) -> list[str]:
        found = await every_page(lambda r: store.page_postings(r, ledger="default", **filters), 1)
        return [p.reference for p in found]

    assert await refs() == ["i10:0", "i2:0", "i1:1", "i1:0"]
    assert await refs(account="users:1") == ["i1:1", "i1:0"]
    assert await refs(account="users:2") == ["i2:0", "i1:1"]
    assert await refs(instance_id="i1") == ["i1:1", "i1:0"]  # not i10
    assert await refs(instance_id="i1", account="users:2") == ["i1:1"]
    assert await refs(account="nobody") == []
    page = await store.page_postings(PageRequest(2), ledger="default")
    assert isinstance(page.items[0], Posting) and page.items[0].amount == 1


def _at(p: Posting, moment: Any) -> Posting:
    return p.model_copy(update={"timestamp": moment})


async def test_accounts_by_address_prefix(store: Store) -> None:
    for n, address in enumerate(["users:1", "users:2", "users:10", "banks:1", "usersx"]):
        await store.post(posting(f"p{n}", "world", address, n + 1))
    await store.set_account_metadata("default", "users:3", {"tier": "gold"})  # metadata only
    await store.post(posting("o", "world", "users:9", 1, ledger="other"))

    async def addresses(prefix: str = "") -> list[str]:
        found = await every_page(lambda r: store.page_accounts(r, ledger="default", address_prefix=prefix), 2)
        return [a.address for a in found]

    assert await addresses("users:") == ["users:1", "users:10", "users:2", "users:3"]
    assert await addresses() == ["banks:1", "users:1", "users:10", "users:2", "users:3", "usersx", "world"]
    first = await store.page_accounts(PageRequest(10), ledger="default", address_prefix="users:1")
    assert [(a.address, a.balances) for a in first.items] == [
        ("users:1", {"USD/2": 1}),
        ("users:10", {"USD/2": 3}),
    ]
    gold = await store.page_accounts(PageRequest(10), ledger="default", address_prefix="users:3")
    assert gold.items[0].metadata == {"tier": "gold"}
    by_prefix = await store.accounts_by_prefix("default", ["users:1", "banks:", "none:"])
    assert {p: [a.address for a in found] for p, found in by_prefix.items()} == {
        "users:1": ["users:1", "users:10"],
        "banks:": ["banks:1"],
        "none:": [],
    }


async def test_wallets_by_ledger_and_name(store: Store) -> None:
    names = ["alice", "bob", "alicia", "carol"]
    for n, name in enumerate(names):
        await store.insert_wallet(
            Wallet(id=f"w{n}", name=name, ledger="default", created_at=at(n) + timedelta(milliseconds=1))
        )
    await store.insert_wallet(Wallet(id="elsewhere", name="alice", ledger="other", created_at=at(9)))

    async def ids(name: str | None = None) -> list[str]:
        found = await every_page(lambda r: store.list_wallets(r, ledger="default", name=name), 1)
        return [w.id for w in found]

    assert await ids() == ["w3", "w2", "w1", "w0"]
    assert await ids("ali") == ["w2", "w0"]
    assert await ids("a.") == []  # a substring, not a pattern


async def test_occurrences_by_id(store: Store) -> None:
    wf = workflow(0)
    await store.insert_workflow(wf)
    trig = trigger(wf.id)
    await store.insert_trigger(trig)
    first, second = occurrence(trig.id, 1), occurrence(trig.id, 2)
    await store.insert_occurrence(first)
    await store.insert_occurrence(second)
    found = await store.get_occurrences([first.id, "missing", second.id, first.id])
    assert found == {first.id: first, second.id: second}
    assert await store.get_occurrences([]) == {}
