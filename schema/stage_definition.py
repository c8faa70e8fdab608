"""Stage specs as typed objects: one GraphQL type per stage kind, a union of them.

The raw JSON stays available as `spec`; each type here wraps the parsed spec model of
`flowql.engine.stages` and resolves its fields from it. Strings may still hold `${var}`
templates, which is why amounts are strings here.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from flowql.engine import stages as spec


@strawberry.type
class AccountRef:
    model: strawberry.Private[spec.AccountRef]

    @strawberry.field
    def id(self) -> str:
        return self.model.id

    @strawberry.field
    def ledger(self) -> str:
        return self.model.ledger

    @strawberry.field(description="Bridge account of cross-ledger sends.")
    def through_account(self) -> str:
        return self.model.throughAccount

    @strawberry.field
    def allow_overdraft(self) -> bool:
        return self.model.allowOverdraft is True


@strawberry.type
class WalletRef:
    model: strawberry.Private[spec.WalletRef]

    @strawberry.field
    def id(self) -> str | None:
        return self.model.id

    @strawberry.field
    def name(self) -> str | None:
        return self.model.name

    @strawberry.field
    def balance(self) -> str:
        return self.model.balance


@strawberry.type
class PaymentRef:
    model: strawberry.Private[spec.PaymentRef]

    @strawberry.field
    def id(self) -> str:
        return self.model.id


@strawberry.type(description="Source or destination of a send: exactly one field is set.")
class Endpoint:
    model: strawberry.Private[spec.Endpoint]

    @strawberry.field
    def account(self) -> AccountRef | None:
        return AccountRef(model=self.model.account) if self.model.account else None

    @strawberry.field
    def wallet(self) -> WalletRef | None:
        return WalletRef(model=self.model.wallet) if self.model.wallet else None

    @strawberry.field
    def payment(self) -> PaymentRef | None:
        return PaymentRef(model=self.model.payment) if self.model.payment else None


@strawberry.type
class Monetary:
    model: strawberry.Private[spec.Monetary]

    @strawberry.field(description="Minor units as a decimal string, or a `${var}` template.")
    def amount(self) -> str:
        return str(self.model.amount)

    @strawberry.field
    def asset(self) -> str:
        return self.model.asset


@strawberry.type
class SendStage:
    model: strawberry.Private[spec.SendSpec]

    @strawberry.field
    def source(self) -> Endpoint:
        return Endpoint(model=self.model.source)

    @strawberry.field
    def destination(self) -> Endpoint:
        return Endpoint(model=self.model.destination)

    @strawberry.field
    def amount(self) -> Monetary:
        return Monetary(model=self.model.amount)

    @strawberry.field
    def metadata(self) -> JSON:
        return JSON(dict(self.model.metadata))

    @strawberry.field
    def timestamp(self) -> str | None:
        return self.model.timestamp

    @strawberry.field
    def allow_overdraft(self) -> bool:
        return self.model.allowOverdraft is True


@strawberry.type
class DelayStage:
    model: strawberry.Private[spec.DelaySpec]

    @strawberry.field
    def duration(self) -> str | None:
        return self.model.duration

    @strawberry.field
    def until(self) -> str | None:
        return self.model.until


@strawberry.type
class WaitEventStage:
    model: strawberry.Private[spec.WaitEventSpec]

    @strawberry.field
    def event(self) -> str:
        return self.model.event


@strawberry.type
class UpdateAccount:
    model: strawberry.Private[spec.UpdateAccount]

    @strawberry.field
    def id(self) -> str:
        return self.model.id

    @strawberry.field
    def ledger(self) -> str:
        return self.model.ledger

    @strawberry.field
    def metadata(self) -> JSON:
        return JSON(dict(self.model.metadata))


@strawberry.type
class UpdateStage:
    model: strawberry.Private[spec.UpdateSpec]

    @strawberry.field
    def account(self) -> UpdateAccount:
        return UpdateAccount(model=self.model.account)


@strawberry.type(description="Formance's `noop` stage: succeeds at once.")
class NoopStage:
    @strawberry.field(description="Always true (a type needs a field).")
    def noop(self) -> bool:
        return True


StageDefinition = Annotated[
    SendStage | DelayStage | WaitEventStage | UpdateStage | NoopStage,
    strawberry.union("StageDefinition", description="A stage spec as a typed object, by kind."),
]


def definition_of(raw: dict[str, Any], *, path: str = "stage") -> StageDefinition:
    """Type a stored raw stage (already validated when its workflow was created)."""
    _kind, parsed = spec.parse_stage(raw, path=path)
    if isinstance(parsed, spec.SendSpec):
        return SendStage(model=parsed)
    if isinstance(parsed, spec.DelaySpec):
        return DelayStage(model=parsed)
    if isinstance(parsed, spec.WaitEventSpec):
        return WaitEventStage(model=parsed)
    if isinstance(parsed, spec.NoopSpec):
        return NoopStage()
    return UpdateStage(model=parsed)


__all__ = ["StageDefinition", "definition_of"]
