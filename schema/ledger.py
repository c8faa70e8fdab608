"""Ledger views: `Account` (balances per asset, metadata), `Balance`, `Posting`, `Wallet`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models

from .context import Info
from .node import Node, account_id
from .scalars import BigInt


@strawberry.type
class Balance:
    asset: str
    amount: BigInt


@strawberry.type(
    description="A ledger account; any address exists, empty until used. `id`: `{address}@{ledger}`."
)
class Account(Node):
    model: strawberry.Private[models.Account]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return account_id(self.model.ledger, self.model.address)

    @strawberry.field
    def ledger(self) -> str:
        return self.model.ledger

    @strawberry.field
    def address(self) -> str:
        return self.model.address

    @strawberry.field
    def balances(self) -> list[Balance]:
        return _balances(self.model.balances)

    @strawberry.field
    def metadata(self) -> JSON:
        return JSON(dict(self.model.metadata))


def _balances(amounts: dict[str, int]) -> list[Balance]:
    return [Balance(asset=a, amount=BigInt(v)) for a, v in sorted(amounts.items())]


@strawberry.type(description="One transfer the embedded ledger applied.")
class Posting:
    model: strawberry.Private[models.Posting]

    @strawberry.field(description="Idempotency key: `{instanceID}:{stage}` for the sends of an instance.")
    def reference(self) -> str:
        return self.model.reference

    @strawberry.field
    def ledger(self) -> str:
        return self.model.ledger

    @strawberry.field
    def source(self) -> str:
        return self.model.source

    @strawberry.field
    def destination(self) -> str:
        return self.model.destination

    @strawberry.field
    def asset(self) -> str:
        return self.model.asset

    @strawberry.field
    def amount(self) -> BigInt:
        return BigInt(self.model.amount)

    @strawberry.field(name="instanceID", description="The instance whose send stage made it.")
    def instance_id(self) -> strawberry.ID | None:
        instance, sep, _stage = self.model.reference.rpartition(":")
        return strawberry.ID(instance) if sep and instance else None

    @strawberry.field(description="The index of that send stage.")
    def stage(self) -> int | None:
        _instance, sep, stage = self.model.reference.rpartition(":")
        return int(stage) if sep and stage.isdigit() else None

    @strawberry.field
    def timestamp(self) -> datetime:
        return self.model.timestamp

    @strawberry.field
    def metadata(self) -> JSON:
        return JSON(dict(self.model.metadata))


@strawberry.type(description="One balance of a wallet: the account `wallets:{id}:{name}`.")
class WalletBalance:
    model: strawberry.Private[models.Account]
    prefix: strawberry.Private[str]

    @strawberry.field(description="The balance's name (`main` unless a send named another).")
    def name(self) -> str:
        return self.model.address.removeprefix(self.prefix)

    @strawberry.field
    def address(self) -> str:
        return self.model.address

    @strawberry.field
    def assets(self) -> list[Balance]:
        return _balances(self.model.balances)


@strawberry.type(description="A named wallet: accounts `wallets:{id}:{balance}` in its ledger.")
class Wallet(Node):
    model: strawberry.Private[models.Wallet]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def ledger(self) -> str:
        return self.model.ledger

    @strawberry.field
    def metadata(self) -> JSON:
        return JSON(dict(self.model.metadata))

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Every balance the wallet holds, by name (one store query per page).")
    async def balances(self, info: Info) -> list[WalletBalance]:
        accounts = await info.context.loaders.wallet_accounts.load(self.model)
        prefix = self.model.account("")
        return [WalletBalance(model=a, prefix=prefix) for a in accounts]

    @strawberry.field(description="The account behind one of the wallet's balances.")
    async def account(self, info: Info, balance: str = "main") -> Account:
        address = self.model.account(balance)
        return Account(model=await info.context.engine.ledger.get_account(self.model.ledger, address))


__all__ = ["Account", "Balance", "Posting", "Wallet", "WalletBalance"]
