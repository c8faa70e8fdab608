"""`LedgerStore` on MongoDB: the posting algorithm, accounts and wallets are in `postings`."""

from __future__ import annotations

from flowql.engine.models import Account, Posting, Wallet

from .postings import MongoLedger


class MongoLedgerStore:
    _ledger: MongoLedger

    # --- embedded ledger ----------------------------------------------------------------
    async def post(self, posting: Posting, *, allow_overdraft: bool = False) -> Posting:
        return await self._ledger.post(posting, allow_overdraft)

    async def list_postings(self, ledger: str | None = None) -> list[Posting]:
        return await self._ledger.list_postings(ledger)

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
