"""The ledger behind `send` and `update`: a protocol and the embedded double-entry ledger.

The embedded ledger keeps accounts, balances, postings and metadata in the engine's own
store. Wallets are accounts `wallets:{id}:{balance}` in the wallet's ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from .clock import parse_time, utc_now
from .errors import not_found, validation
from .models import Account, Posting, Wallet, new_id
from .stages import Endpoint, SendSpec
from .store import LedgerStore

ADDRESS = re.compile(r"[a-zA-Z0-9_-]+(:[a-zA-Z0-9_-]+)*")
WORLD = "world"


@dataclass(frozen=True, slots=True)
class Address:
    ledger: str
    address: str


class Ledger(Protocol):
    async def send(self, spec: SendSpec, *, reference: str) -> Posting: ...

    async def add_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account: ...

    async def get_account(self, ledger: str, address: str) -> Account: ...

    async def create_wallet(self, name: str, ledger: str, metadata: dict[str, str]) -> Wallet: ...

    async def get_wallet(self, wallet_id: str) -> Wallet: ...


def check_address(address: str, *, field: str) -> str:
    if not ADDRESS.fullmatch(address):
        raise validation(f"{field}: invalid account address {address!r}", field=field)
    return address


class EmbeddedLedger:
    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    async def send(self, spec: SendSpec, *, reference: str) -> Posting:
        source = await self._resolve(spec.source, field="source")
        destination = await self._resolve(spec.destination, field="destination")
        if source.ledger != destination.ledger:
            raise validation(
                f"destination: ledger {destination.ledger!r} differs from source ledger {source.ledger!r}",
                field="destination",
            )
        if not isinstance(spec.amount.amount, int):
            raise validation("amount.amount: must be an integer", field="amount.amount")
        timestamp = parse_time(spec.timestamp, field="timestamp") if spec.timestamp else utc_now()
        posting = Posting(
            reference=reference,
            ledger=source.ledger,
            source=source.address,
            destination=destination.address,
            asset=spec.amount.asset,
            amount=spec.amount.amount,
            timestamp=timestamp,
            metadata=spec.metadata,
        )
        return await self._store.post(posting, allow_overdraft=spec.allowOverdraft)

    async def _resolve(self, endpoint: Endpoint, *, field: str) -> Address:
        if endpoint.account is not None:
            ref = endpoint.account
            return Address(ref.ledger, check_address(ref.id, field=f"{field}.account.id"))
        if endpoint.wallet is not None:
            ref_w = endpoint.wallet
            if ref_w.id is not None:
                wallet = await self._store.get_wallet(ref_w.id)
                missing = f"id {ref_w.id!r}"
            else:
                assert ref_w.name is not None
                wallet = await self._store.get_wallet_by_name(None, ref_w.name)
                missing = f"name {ref_w.name!r}"
            if wallet is None:
                raise validation(f"{field}.wallet: unknown wallet with {missing}", field=f"{field}.wallet")
            check_address(ref_w.balance, field=f"{field}.wallet.balance")
            return Address(wallet.ledger, wallet.account(ref_w.balance))
        raise validation(
            f"{field}.payment: no payments connector is configured; payment sources and "
            "destinations are not supported by the embedded ledger",
            field=f"{field}.payment",
        )

    async def add_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account:
        check_address(address, field="account.id")
        return await self._store.set_account_metadata(ledger, address, metadata)

    async def get_account(self, ledger: str, address: str) -> Account:
        check_address(address, field="address")
        return await self._store.get_account(ledger, address)

    async def create_wallet(self, name: str, ledger: str, metadata: dict[str, str]) -> Wallet:
        if not name.strip():
            raise validation("name: must not be empty", field="name")
        wallet = Wallet(id=new_id(), name=name, ledger=ledger, metadata=metadata, created_at=utc_now())
        await self._store.insert_wallet(wallet)
        return wallet

    async def get_wallet(self, wallet_id: str) -> Wallet:
        wallet = await self._store.get_wallet(wallet_id)
        if wallet is None:
            raise not_found("wallet", wallet_id)
        return wallet
