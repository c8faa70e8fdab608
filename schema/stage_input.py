"""`StageInput`: a typed `@oneOf` stage spec with the Formance JSON field names.

A JSON variable of the Formance shape (`{"send": {...}}`, `{"wait_event": {"event": ...}}`)
validates as it is, a misspelled kind or two kinds in one stage is a GraphQL validation
error, and codegen gives clients real types. `raw_stage` turns an input back into the
JSON the engine validates and stores (values the client left out stay out).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET

from .scalars import BigInt


@strawberry.input
class AccountRefInput:
    id: str
    ledger: str | None = strawberry.field(default=UNSET, description="Default: `default`.")
    through_account: str | None = strawberry.field(
        default=UNSET, description="Where funds cross ledgers on a cross-ledger send; default `world`."
    )
    allow_overdraft: bool | None = strawberry.field(default=UNSET, description="A source may go below zero.")


@strawberry.input(description="A wallet by `id` or by `name` (exactly one); `balance` defaults to `main`.")
class WalletRefInput:
    id: str | None = UNSET
    name: str | None = UNSET
    balance: str | None = UNSET


@strawberry.input
class PaymentRefInput:
    id: str


@strawberry.input(one_of=True, description="Source or destination of a send.")
class EndpointInput:
    account: AccountRefInput | None = UNSET
    wallet: WalletRefInput | None = UNSET
    payment: PaymentRefInput | None = UNSET


@strawberry.input
class MonetaryInput:
    amount: BigInt = strawberry.field(description="Minor units, or a `${var}` template.")
    asset: str = strawberry.field(description="e.g. `USD/2`, or a `${var}` template.")


@strawberry.input
class SendStageInput:
    source: EndpointInput
    destination: EndpointInput
    amount: MonetaryInput
    metadata: JSON | None = strawberry.field(default=UNSET, description="String values.")
    timestamp: str | None = strawberry.field(default=UNSET, description="RFC 3339; default: now.")
    allow_overdraft: bool | None = UNSET


@strawberry.input(description="Exactly one of `duration` (Go style: `10s`, `1h30m`) or `until` (RFC 3339).")
class DelayStageInput:
    duration: str | None = UNSET
    until: str | None = UNSET


@strawberry.input
class WaitEventStageInput:
    event: str


@strawberry.input
class UpdateAccountInput:
    id: str
    ledger: str | None = UNSET
    metadata: JSON = strawberry.field(description="String values, merged into the account's.")


@strawberry.input
class UpdateStageInput:
    account: UpdateAccountInput


@strawberry.input(description="Formance's `noop` stage (`{noop: {}}`): succeeds at once, posts nothing.")
class NoopStageInput:
    noop: bool | None = strawberry.field(
        default=UNSET, description="Ignored (an input type needs a field); send `{}`."
    )


@strawberry.input(one_of=True, description="One stage: exactly one kind, with the Formance JSON field names.")
class StageInput:
    send: SendStageInput | None = UNSET
    delay: DelayStageInput | None = UNSET
    wait_event: WaitEventStageInput | None = strawberry.field(default=UNSET, name="wait_event")
    update: UpdateStageInput | None = UNSET
    noop: NoopStageInput | None = UNSET


def raw_stage(stage: StageInput) -> dict[str, Any]:
    """The stage as Formance JSON (amounts as digit strings: JSON numbers lose digits in browsers)."""
    if isinstance(stage.noop, NoopStageInput):
        return {"noop": {}}
    raw = _plain(stage)
    assert isinstance(raw, dict)
    return raw


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain: dict[str, object] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is UNSET or item is None:
                continue
            name = strawberry_name(type(value), field.name)
            plain[name] = _plain(item)
        return plain
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


def strawberry_name(cls: type, python_name: str) -> str:
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    for field in definition.fields:
        if field.python_name == python_name:
            return str(field.graphql_name or _camel(python_name))
    return python_name


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


__all__ = ["StageInput", "raw_stage"]
