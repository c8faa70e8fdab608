"""`LedgerStore`: the embedded ledger's postings (exact, idempotent, never below zero by
accident), accounts and wallets.

Run on every backend by the `store` fixture (conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import Account, Wallet
from flowql.engine.store import LedgerStore

from .factories import at, posting, wallet


async def balance(store: LedgerStore, address: str, asset: str = "USD/2") -> int:
    return (await store.get_account("default", address)).balances.get(asset, 0)


async def test_post_moves_balances_once_per_reference(store: LedgerStore) -> None:
    first = await store.post(posting("i1:0", "world", "users:1", 100))
    again = await store.post(posting("i1:0", "world", "users:1", 999))
    assert again == first
    assert await balance(store, "users:1") == 100
    assert await balance(store, "world") == -100
    assert len(await store.list_postings()) == 1


async def test_insufficient_funds_writes_nothing(store: LedgerStore) -> None:
    await store.post(posting("fund", "world", "users:1", 10))
    with pytest.raises(FlowqlError) as caught:
        await store.post(posting("spend", "users:1", "users:2", 11))
    assert caught.value.code is ErrorCode.VALIDATION
    assert "users:1" in caught.value.message
    assert await balance(store, "users:1") == 10
    assert await balance(store, "users:2") == 0
    assert [p.reference for p in await store.list_postings()] == ["fund"]
    await store.post(posting("spend", "users:1", "users:2", 10))  # the reference stays usable
    assert await balance(store, "users:2") == 10


async def test_overdraft_only_when_allowed(store: LedgerStore) -> None:
    await store.post(posting("od", "users:1", "users:2", 5), allow_overdraft=True)
    assert await balance(store, "users:1") == -5


async def test_amounts_beyond_64_bits_are_exact(store: LedgerStore) -> None:
    huge = 2**100 + 7
    await store.post(posting("big", "world", "users:1", huge))
    await store.post(posting("big2", "users:1", "users:2", huge - 1))
    assert await balance(store, "users:1") == 1
    assert await balance(store, "users:2") == huge - 1
    [first, _] = await store.list_postings()
    assert first.amount == huge


async def test_concurrent_posts_keep_every_asset_summing_to_zero(store: LedgerStore) -> None:
    await store.post(posting("seed", "world", "pool", 1000))
    spends = [store.post(posting(f"s{i}", "pool", f"users:{i % 7}", 30)) for i in range(50)]
    results = await asyncio.gather(*spends, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(f, FlowqlError) and f.code is ErrorCode.VALIDATION for f in failures)
    assert len(failures) == 50 - 1000 // 30
    assert await balance(store, "pool") == 1000 % 30
    postings = await store.list_postings()
    addresses = {p.source for p in postings} | {p.destination for p in postings}
    assert sum([await balance(store, a) for a in addresses]) == 0


async def test_negative_amounts_are_refused(store: LedgerStore) -> None:
    """A negative amount would move money into the source: its destination would go below
    zero without any overdraft. The engine validates amounts too; the store never trusts it."""
    await store.post(posting("fund", "world", "users:1", 10))
    with pytest.raises(FlowqlError) as caught:
        await store.post(posting("back", "world", "users:1", -5))
    assert caught.value.code is ErrorCode.VALIDATION
    with pytest.raises(FlowqlError):
        await store.post(posting("pull", "users:1", "users:2", -5), allow_overdraft=True)
    assert [p.reference for p in await store.list_postings()] == ["fund"]
    assert await balance(store, "users:1") == 10
    assert await balance(store, "users:2") == 0


async def test_assets_and_ledgers_are_separate(store: LedgerStore) -> None:
    await store.post(posting("u", "world", "users:1", 500))
    await store.post(posting("e", "world", "users:1", 70, "EUR/2"))
    await store.post(posting("o", "world", "users:1", 9, ledger="other"))
    with pytest.raises(FlowqlError):
        await store.post(posting("x", "users:1", "users:2", 71, "EUR/2"))
    with pytest.raises(FlowqlError):
        await store.post(posting("y", "users:1", "users:2", 10, ledger="other"))
    await store.post(posting("z", "users:1", "users:2", 500))
    assert (await store.get_account("default", "users:1")).balances == {"USD/2": 0, "EUR/2": 70}
    assert (await store.get_account("other", "users:1")).balances == {"USD/2": 9}
    assert [p.reference for p in await store.list_postings("other")] == ["o"]
    assert [p.reference for p in await store.list_postings()] == ["u", "e", "o", "z"]
    for ledger in ("default", "other"):
        totals: dict[str, int] = {}
        for address in ("world", "users:1", "users:2"):
            for asset, value in (await store.get_account(ledger, address)).balances.items():
                assert address == "world" or value >= 0
                totals[asset] = totals.get(asset, 0) + value
        assert set(totals.values()) == {0}


async def test_metadata_merges(store: LedgerStore) -> None:
    await store.set_account_metadata("default", "users:1", {"a": "1"})
    account = await store.set_account_metadata("default", "users:1", {"b": "2"})
    assert account.metadata == {"a": "1", "b": "2"}
    assert (await store.get_account("default", "users:1")).metadata == {"a": "1", "b": "2"}
    assert (await store.get_account("other", "users:1")).metadata == {}


async def test_metadata_keeps_balances(store: LedgerStore) -> None:
    await store.post(posting("r", "world", "users:1", 2**80))
    account = await store.set_account_metadata("default", "users:1", {"k": "v"})
    assert account == Account(
        ledger="default", address="users:1", balances={"USD/2": 2**80}, metadata={"k": "v"}
    )


async def test_an_unknown_account_has_nothing_to_send(store: LedgerStore) -> None:
    with pytest.raises(FlowqlError) as caught:
        await store.post(posting("r1", "users:nobody", "users:2", 1))
    assert caught.value.code is ErrorCode.VALIDATION and caught.value.field == "source"
    assert "insufficient funds" in caught.value.message
    assert await store.list_postings() == []
    assert await store.get_account("default", "users:2") == Account(ledger="default", address="users:2")


async def test_wallets(store: LedgerStore) -> None:
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


async def test_wallet_names_are_unique_per_ledger(store: LedgerStore) -> None:
    await store.insert_wallet(wallet("w1", "main"))
    await store.insert_wallet(wallet("w2", "main", "other"))
    await store.insert_wallet(wallet("w3", "savings"))
    assert await store.get_wallet_by_name("default", "main") == wallet("w1", "main")
    assert await store.get_wallet_by_name("other", "main") == wallet("w2", "main", "other")
    assert await store.get_wallet_by_name(None, "savings") == wallet("w3", "savings")
    assert await store.get_wallet_by_name(None, "nothing") is None
    assert await store.get_wallet("unknown") is None
    with pytest.raises(FlowqlError) as caught:
        await store.insert_wallet(wallet("w4", "main", "other"))
    assert caught.value.code is ErrorCode.CONFLICT
