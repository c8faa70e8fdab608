"""`LedgerStore` on SQLite: postings and balances (`postings`), accounts, wallets."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from flowql.engine.errors import conflict
from flowql.engine.models import Account, Posting, Wallet
from flowql.engine.pagination import Page, PageRequest

from ..names import WALLETS
from . import ledger_lists as lists
from . import postings
from . import rows as records
from .connection import SqliteConnection


class SqliteLedgerStore:
    _db: SqliteConnection

    # --- embedded ledger ----------------------------------------------------------------
    async def post(self, posting: Posting, *, allow_overdraft: bool = False) -> Posting:
        return await self._db.write(lambda c: postings.post(c, posting, allow_overdraft))

    async def list_postings(self, ledger_name: str | None = None) -> list[Posting]:
        return await self._db.run(lambda c: postings.list_postings(c, ledger_name))

    async def page_postings(
        self, page: PageRequest, *, ledger: str, account: str | None = None, instance_id: str | None = None
    ) -> Page[Posting]:
        return await self._db.run(lambda c: lists.page_postings(c, page, ledger, account, instance_id))

    async def page_accounts(
        self, page: PageRequest, *, ledger: str, address_prefix: str = ""
    ) -> Page[Account]:
        return await self._db.run(lambda c: lists.page_accounts(c, page, ledger, address_prefix))

    async def accounts_by_prefix(self, ledger: str, prefixes: Sequence[str]) -> dict[str, list[Account]]:
        return await self._db.run(lambda c: lists.accounts_by_prefix(c, ledger, prefixes))

    async def list_wallets(self, page: PageRequest, *, ledger: str, name: str | None = None) -> Page[Wallet]:
        return await self._db.run(lambda c: lists.list_wallets(c, page, ledger, name))

    async def get_account(self, ledger_name: str, address: str) -> Account:
        return await self._db.run(lambda c: postings.get_account(c, ledger_name, address))

    async def set_account_metadata(self, ledger_name: str, address: str, metadata: dict[str, str]) -> Account:
        return await self._db.write(lambda c: postings.set_metadata(c, ledger_name, address, metadata))

    async def insert_wallet(self, wallet: Wallet) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {WALLETS} (id, name, ledger, doc) VALUES (?, ?, ?, ?)",
                    (wallet.id, wallet.name, wallet.ledger, wallet.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise conflict(
                    f"a wallet named {wallet.name!r} already exists in ledger {wallet.ledger!r}"
                ) from None

        await self._db.write(work)

    async def get_wallet(self, wallet_id: str) -> Wallet | None:
        return await self._db.run(lambda c: records.one(c, WALLETS, Wallet, wallet_id))

    async def get_wallet_by_name(self, ledger_name: str | None, name: str) -> Wallet | None:
        def work(c: sqlite3.Connection) -> Wallet | None:
            if ledger_name is None:
                row = c.execute(
                    f"SELECT doc FROM {WALLETS} WHERE name = ? ORDER BY rowid LIMIT 1", (name,)
                ).fetchone()
            else:
                row = c.execute(
                    f"SELECT doc FROM {WALLETS} WHERE ledger = ? AND name = ?", (ledger_name, name)
                ).fetchone()
            return Wallet.model_validate_json(row[0]) if row else None

        return await self._db.run(work)
