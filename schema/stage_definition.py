"""Stage specs as typed objects: one GraphQL type per stage kind, a union of the four.

The raw JSON stays available as `spec`; these types mirror `flowql.engine.stages`. Strings
may still hold `${var}` templates, which is why amounts are strings here.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from flowql.engine import stages as spec


@strawberry.type
class AccountRef:
    id: str
    ledger: str
    through_account: str = strawberry.field(description="Bridge account of cross-ledger sends.")
    allow_overdraft: bool


@strawberry.type
class WalletRef:
    id: str | None
    name: str | None
    balance: str


@strawberry.type
class PaymentRef:
    id: str


@strawberry.type(description="Source or destination of a send: exactly one field is set.")
class Endpoint:
    account: AccountRef | None
    wallet: WalletRef | None
    payment: PaymentRef | None

    @classmethod
    def from_spec(cls, e: spec.Endpoint) -> Endpoint:
        return cls(
            account=AccountRef(
                id=e.account.id,
                ledger=e.account.ledger,
                through_account=e.account.throughAccount,
                allow_overdraft=e.account.allowOverdraft is True,
            )
            if e.account
            else None,
            wallet=WalletRef(id=e.wallet.id, name=e.wallet.name, balance=e.wallet.balance)
            if e.wallet
            else None,
            payment=PaymentRef(id=e.payment.id) if e.payment else None,
        )


@strawberry.type
class Monetary:
    amount: str = strawberry.field(description="Minor units as a decimal string, or a `${var}` template.")
    asset: str


@strawberry.type
class SendStage:
    source: Endpoint
    destination: Endpoint
    amount: Monetary
    metadata: JSON
    timestamp: str | None
    allow_overdraft: bool


@strawberry.type
class DelayStage:
    duration: str | None
    until: str | None


@strawberry.type
class WaitEventStage:
    event: str


@strawberry.type
class UpdateAccount:
    id: str
    ledger: str
    metadata: JSON


@strawberry.type
class UpdateStage:
    account: UpdateAccount


@strawberry.type(description="Formance's `noop` stage: succeeds at once.")
class NoopStage:
    noop: bool = strawberry.field(default=True, description="Always true (a type needs a field).")


StageDefinition = Annotated[
    SendStage | DelayStage | WaitEventStage | UpdateStage | NoopStage,
    strawberry.union("StageDefinition", description="A stage spec as a typed object, by kind."),
]


def definition_of(raw: dict[str, Any], *, path: str = "stage") -> StageDefinition:
    """Type a stored raw stage (already validated when its workflow was created)."""
    _kind, parsed = spec.parse_stage(raw, path=path)
    if isinstance(parsed, spec.SendSpec):
        return SendStage(
            source=Endpoint.from_spec(parsed.source),
            destination=Endpoint.from_spec(parsed.destination),
            amount=Monetary(amount=str(parsed.amount.amount), asset=parsed.amount.asset),
            metadata=JSON(dict(parsed.metadata)),
            timestamp=parsed.timestamp,
            allow_overdraft=parsed.allowOverdraft is True,
        )
    if isinstance(parsed, spec.DelaySpec):
        return DelayStage(duration=parsed.duration, until=parsed.until)
    if isinstance(parsed, spec.WaitEventSpec):
        return WaitEventStage(event=parsed.event)
    if isinstance(parsed, spec.NoopSpec):
        return NoopStage()
    account = parsed.account
    return UpdateStage(
        account=UpdateAccount(id=account.id, ledger=account.ledger, metadata=JSON(dict(account.metadata)))
    )


__all__ = ["StageDefinition", "definition_of"]
