"""`LedgerStore` on MongoDB: the posting algorithm, accounts and wallets are in `postings`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flowql.engine.models import Account, Posting, Wallet
from flowql.engine.pagination import Page, PageRequest

from . import ledger_lists as lists
from .codec import Doc
from .postings import MongoLedger

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


class MongoLedgerStore:
    _ledger: MongoLedger
    _postings: AsyncCollection[Doc]
    _accounts: AsyncCollection[Doc]
    _wallets: AsyncCollection[Doc]

    # --- embedded ledger ----------------------------------------------------------------
    async def post(self, posting: Posting, *, allow_overdraft: bool = False) -> Posting:
        return await self._ledger.post(posting, allow_overdraft)

    async def list_postings(self, ledger: str | None = None) -> list[Posting]:
        return await self._ledger.list_postings(ledger)

    async def page_postings(
        self, page: PageRequest, *, ledger: str, account: str | None = None, instance_id: str | None = None
    ) -> Page[Posting]:
        return await lists.page_postings(self._postings, page, ledger, account, instance_id)

    async def page_accounts(
        self, page: PageRequest, *, ledger: str, address_prefix: str = ""
    ) -> Page[Account]:
        return await lists.page_accounts(self._accounts, page, ledger, address_prefix)

    async def accounts_by_prefix(self, ledger: str, prefixes: Sequence[str]) -> dict[str, list[Account]]:
        return await lists.accounts_by_prefix(self._accounts, ledger, prefixes)

    async def list_wallets(self, page: PageRequest, *, ledger: str, name: str | None = None) -> Page[Wallet]:
        return await lists.list_wallets(self._wallets, page, ledger, name)

    async def get_account(self, ledger: str, address: str) -> Account:
        return await self._ledger.get_account(ledger, address)

    async def set_account_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account:
        return await self._ledger.set_metadata(ledger, address, metadata)

    async def insert_wallet(self, wallet: Wallet) -> None:
        await self._ledger.insert_wallet(wallet)

    async def get_wallet(self, wallet_id: str) -> Wallet | None:
        return await self._ledger.get_wallet(wallet_id)

    async def get_wallet_by_name(self, ledger: str | None, name: str) -> Wallet | None:
        return await self._ledger.get_wallet_by_name(ledger, name)
