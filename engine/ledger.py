"""The ledger behind `send` and `update`: a protocol and the embedded double-entry ledger.

The embedded ledger keeps accounts, balances, postings and metadata in the engine's own
store. Wallets are accounts `wallets:{id}:{balance}` in the wallet's ledger.

A send is planned as Formance runs it (`internal/workflow/stages/send/run.go`): one
transfer within a ledger, or, across ledgers, two: out of the source ledger into its
`throughAccount` (metadata `orchestration/move-to-ledger`), then from the destination's
`throughAccount` into the destination (`orchestration/move-from-ledger`). Each transfer is
one idempotent posting; the stage runs them in order and resumes after the last one done.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from . import bounds
from .bounds import MAX_ADDRESS_LENGTH, Label, LedgerName, Metadata, Name, check
from .clock import parse_time, to_iso, utc_now
from .errors import not_found, shown, validation
from .models import Account, Posting, Wallet, new_sortable_id
from .pagination import Page, PageRequest
from .stages import Endpoint, SendSpec
from .store import LedgerStore

PREFIX = re.compile(rf"[a-zA-Z0-9_:-]{{1,{MAX_ADDRESS_LENGTH}}}")
WORLD = "world"
MOVE_TO_LEDGER = "orchestration/move-to-ledger"
MOVE_FROM_LEDGER = "orchestration/move-from-ledger"
WALLETS_PAGE_SIZE = 15
"""The wallets service's default page size (Formance's ListWallets sends none)."""


@dataclass(frozen=True, slots=True)
class Address:
    ledger: str
    address: str
    through: str = WORLD
    overdraft: bool = False
    wallet: Wallet | None = None
    balance: str = "main"
    by_name: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    """Formance reads a wallet first (GetWallet, or ListWallets by name): a recorded step.
    `read` answers what Formance's wallets service answers, when the activity runs."""

    activity: str
    input: dict[str, Any]
    read: Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Transfer:
    """One posting a send makes: Formance's CreateTransaction input."""

    ledger: str
    source: str
    destination: str
    amount: int
    asset: str
    metadata: dict[str, str] = field(default_factory=dict)
    timestamp: datetime | None = None
    allow_overdraft: bool = False
    activity: str = "CreateTransaction"
    """Formance's activity for it: CreateTransaction, or CreditWallet / DebitWallet."""
    request: dict[str, Any] | None = None
    """The wallet activity's Formance input (None: CreateTransaction's, from the posting)."""


Step = Transfer | Lookup


class Ledger(Protocol):
    async def plan(self, spec: SendSpec) -> list[Step]:
        """The transfers a send makes, in order (wallets resolved; nothing written)."""

    async def transfer(self, transfer: Transfer, *, reference: str) -> Posting:
        """Post one transfer once: a second call with the same reference changes nothing."""

    async def add_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account: ...

    async def get_account(self, ledger: str, address: str) -> Account: ...

    async def create_wallet(self, name: str, ledger: str, metadata: dict[str, str]) -> Wallet: ...

    async def get_wallet(self, wallet_id: str) -> Wallet: ...

    async def list_accounts(
        self, page: PageRequest, *, ledger: str, address_prefix: str = ""
    ) -> Page[Account]: ...

    async def list_postings(
        self, page: PageRequest, *, ledger: str, account: str | None = None, instance_id: str | None = None
    ) -> Page[Posting]: ...

    async def list_wallets(
        self, page: PageRequest, *, ledger: str, name: str | None = None
    ) -> Page[Wallet]: ...

    async def wallet_accounts(self, wallets: Sequence[Wallet]) -> list[list[Account]]:
        """The accounts behind each wallet's balances (`wallets:{id}:{balance}`), in order."""


def check_address(address: str, *, field: str) -> str:
    return check(bounds.Address, address, field=field)


class EmbeddedLedger:
    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    async def plan(self, spec: SendSpec) -> list[Step]:
        source = await self._resolve(spec.source, field="source")
        destination = await self._resolve(spec.destination, field="destination")
        amount = spec.amount.amount
        if not isinstance(amount, int):
            raise validation("amount.amount: must be an integer", field="amount.amount")
        timestamp = parse_time(spec.timestamp, field="timestamp") if spec.timestamp else None
        common = {"amount": amount, "asset": spec.amount.asset, "timestamp": timestamp}
        overdraft = source.overdraft or spec.allowOverdraft is True
        lookups: list[Step] = [self._lookup(a) for a in (source, destination) if a.wallet is not None]
        if source.ledger == destination.ledger:
            return lookups + [
                _as_wallet_activity(t, source, destination)
                for t in [
                    Transfer(
                        source.ledger,
                        source.address,
                        destination.address,
                        metadata=dict(spec.metadata),
                        allow_overdraft=overdraft,
                        **common,  # type: ignore[arg-type]
                    )
                ]
            ]
        out, into = [
            Transfer(
                source.ledger,
                source.address,
                source.through,
                metadata=spec.metadata | {MOVE_TO_LEDGER: destination.ledger},
                allow_overdraft=overdraft,
                **common,  # type: ignore[arg-type]
            ),
            Transfer(
                destination.ledger,
                destination.through,
                destination.address,
                metadata=spec.metadata | {MOVE_FROM_LEDGER: source.ledger},
                allow_overdraft=destination.overdraft and destination.through != WORLD,
                **common,  # type: ignore[arg-type]
            ),
        ]
        world = Address(destination.ledger, WORLD)
        return [
            *lookups,
            _as_wallet_activity(out, source, Address(source.ledger, source.through)),
            _as_wallet_activity(into, world, destination),
        ]

    async def transfer(self, transfer: Transfer, *, reference: str) -> Posting:
        posting = Posting(
            reference=reference,
            ledger=transfer.ledger,
            source=transfer.source,
            destination=transfer.destination,
            asset=transfer.asset,
            amount=transfer.amount,
            timestamp=transfer.timestamp or utc_now(),
            metadata=transfer.metadata,
        )
        return await self._store.post(posting, allow_overdraft=transfer.allow_overdraft)

    def _lookup(self, address: Address) -> Lookup:
        """GetWallet answers `{data: wallet}` with its main balance; ListWallets (by name)
        `{cursor: {pageSize, hasMore, data: [wallet]}}` without balances, as the wallets
        service lists them unexpanded."""
        wallet = address.wallet
        assert wallet is not None
        if address.by_name:

            async def listed() -> dict[str, Any]:
                page = {"pageSize": WALLETS_PAGE_SIZE, "hasMore": False, "data": [wallet_json(wallet, {})]}
                return {"cursor": page}

            return Lookup("ListWallets", {"name": wallet.name}, listed)

        async def got() -> dict[str, Any]:
            main = await self._store.get_account(wallet.ledger, wallet.account("main"))
            return {"data": wallet_json(wallet, main.balances)}

        return Lookup("GetWallet", {"id": wallet.id}, got)

    async def _resolve(self, endpoint: Endpoint, *, field: str) -> Address:
        if endpoint.account is not None:
            ref = endpoint.account
            address = check_address(ref.id, field=f"{field}.account.id")
            through = check_address(ref.throughAccount, field=f"{field}.account.throughAccount")
            return Address(ref.ledger, address, through, ref.allowOverdraft is True)
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
            return Address(
                wallet.ledger,
                wallet.account(ref_w.balance),
                wallet=wallet,
                balance=ref_w.balance,
                by_name=ref_w.id is None,
            )
        raise validation(
            f"{field}.payment: no payments connector is configured; payment sources and "
            "destinations are not supported by the embedded ledger",
            field=f"{field}.payment",
        )

    async def add_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account:
        check(LedgerName, ledger, field="account.ledger")
        check_address(address, field="account.id")
        check(Metadata, metadata, field="account.metadata")
        return await self._store.set_account_metadata(ledger, address, metadata)

    async def get_account(self, ledger: str, address: str) -> Account:
        check_address(address, field="address")
        return await self._store.get_account(ledger, address)

    async def create_wallet(self, name: str, ledger: str, metadata: dict[str, str]) -> Wallet:
        check(Name, name, field="name")
        check(LedgerName, ledger, field="ledger")
        check(Metadata, metadata, field="metadata")
        wallet = Wallet(
            id=new_sortable_id(), name=name, ledger=ledger, metadata=metadata, created_at=utc_now()
        )
        await self._store.insert_wallet(wallet)
        return wallet

    async def get_wallet(self, wallet_id: str) -> Wallet:
        wallet = await self._store.get_wallet(wallet_id)
        if wallet is None:
            raise not_found("wallet", wallet_id)
        return wallet

    async def list_accounts(
        self, page: PageRequest, *, ledger: str, address_prefix: str = ""
    ) -> Page[Account]:
        """Accounts with a balance or metadata, by address; `address_prefix` as typed so far
        (any characters an address may hold)."""
        if address_prefix and not PREFIX.fullmatch(address_prefix):
            raise validation(
                f"addressPrefix: invalid address prefix {shown(address_prefix)}", field="addressPrefix"
            )
        return await self._store.page_accounts(page, ledger=ledger, address_prefix=address_prefix)

    async def list_postings(
        self, page: PageRequest, *, ledger: str, account: str | None = None, instance_id: str | None = None
    ) -> Page[Posting]:
        if account is not None:
            check_address(account, field="account")
        return await self._store.page_postings(page, ledger=ledger, account=account, instance_id=instance_id)

    async def list_wallets(self, page: PageRequest, *, ledger: str, name: str | None = None) -> Page[Wallet]:
        # A filter longer than any name could hold matches nothing; refused before the store
        # runs it (a 400 KB substring took FerretDB 22 s to match against every wallet).
        check(LedgerName, ledger, field="ledger")
        if name:
            check(Label, name, field="name")
        return await self._store.list_wallets(page, ledger=ledger, name=name or None)

    async def wallet_accounts(self, wallets: Sequence[Wallet]) -> list[list[Account]]:
        by_ledger: dict[str, list[str]] = {}
        for wallet in wallets:
            by_ledger.setdefault(wallet.ledger, []).append(_wallet_prefix(wallet))
        found = {ledger: await self._store.accounts_by_prefix(ledger, p) for ledger, p in by_ledger.items()}
        return [found[w.ledger][_wallet_prefix(w)] for w in wallets]


def _wallet_prefix(wallet: Wallet) -> str:
    return wallet.account("")


def wallet_json(wallet: Wallet, main: dict[str, int]) -> dict[str, Any]:
    """A wallet as Formance's wallets service writes it: the main balance's assets (amounts
    as digit strings here, so any size survives every store; the REST layer writes numbers)."""
    return {
        "id": wallet.id,
        "name": wallet.name,
        "metadata": wallet.metadata,
        "createdAt": to_iso(wallet.created_at),
        "ledger": wallet.ledger,
        "balances": {"main": {"assets": {asset: str(amount) for asset, amount in main.items()}}},
    }


def _subject(address: Address) -> dict[str, Any]:
    if address.wallet is not None:
        return {"type": "WALLET", "identifier": address.wallet.id, "balance": address.balance}
    return {"type": "ACCOUNT", "identifier": address.address}


def _as_wallet_activity(transfer: Transfer, source: Address, destination: Address) -> Transfer:
    """The wallet activity Formance runs for this posting: crediting a destination wallet
    (CreditWallet, from the source), else debiting a source wallet (DebitWallet)."""
    money = {"amount": transfer.amount, "asset": transfer.asset}
    extra: dict[str, Any] = {"timestamp": to_iso(transfer.timestamp)} if transfer.timestamp else {}
    if destination.wallet is not None:
        data = {
            "amount": money,
            "balance": destination.balance,
            "sources": [_subject(source)],
            "metadata": transfer.metadata,
        }
        request = {"id": destination.wallet.id, "data": data | extra}
        return replace(transfer, activity="CreditWallet", request=request)
    if source.wallet is not None:
        data = {"amount": money, "balances": [source.balance], "metadata": transfer.metadata}
        if destination.address != WORLD or destination.wallet is not None:
            data["destination"] = _subject(destination)
        return replace(
            transfer, activity="DebitWallet", request={"id": source.wallet.id, "data": data | extra}
        )
    return transfer
