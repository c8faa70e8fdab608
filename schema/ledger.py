"""Ledger views: `Account` (balances per asset, metadata), `Balance`, `Wallet`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models

from .context import Info
from .scalars import BigInt


@strawberry.type
class Balance:
    asset: str
    amount: BigInt


@strawberry.type(description="A ledger account; any address exists, empty until used.")
class Account:
    ledger: str
    address: str
    balances: list[Balance]
    metadata: JSON

    @classmethod
    def from_model(cls, m: models.Account) -> Account:
        return cls(
            ledger=m.ledger,
            address=m.address,
            balances=[Balance(asset=a, amount=BigInt(v)) for a, v in sorted(m.balances.items())],
            metadata=JSON(dict(m.metadata)),
        )


@strawberry.type(description="A named wallet: accounts `wallets:{id}:{balance}` in its ledger.")
class Wallet:
    id: strawberry.ID
    name: str
    ledger: str
    metadata: JSON
    created_at: datetime
    model: strawberry.Private[models.Wallet]

    @classmethod
    def from_model(cls, m: models.Wallet) -> Wallet:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            ledger=m.ledger,
            metadata=JSON(dict(m.metadata)),
            created_at=m.created_at,
            model=m,
        )

    @strawberry.field(description="The account behind one of the wallet's balances.")
    async def account(self, info: Info, balance: str = "main") -> Account:
        address = self.model.account(balance)
        return Account.from_model(await info.context.engine.ledger.get_account(self.ledger, address))


__all__ = ["Account", "Balance", "Wallet"]
