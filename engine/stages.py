"""Stage specs: `send`, `delay`, `wait_event`, `update`, `noop`, each a one-key object.

Workflows keep the raw JSON the client sent; `parse_stages` validates it at create time
(where a string may still hold `${var}` placeholders) and `parse_stage` again at run time,
after interpolation, when every value must be concrete.

Defaults and variables follow Formance's `internal/schema/map.go`: a `${var}` that is not
defined reads as `""`, and a field whose value is `""` takes its default (`ledger:
"${l}"` falls back to `default`; a required field left empty is missing). Accounts of a
send default to ledger `default`, of an update to `main`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from .bounds import (
    CONCRETE,
    TEMPLATE,
    Address,
    BalanceName,
    LedgerName,
    Metadata,
    Name,
    format_loc,
    from_pydantic,
    is_template,
)
from .clock import parse_duration, parse_time
from .errors import FlowqlError, validation

MAX_VARIABLE_LENGTH = 4096
"""Characters of one run variable."""
MAX_EXPANDED_LENGTH = 65_536
"""Characters of one stage string after `${var}` expansion: `"${x}${x}..."` of a 500-byte
variable reached 100 MB, a larger one a MemoryError at every retry."""


class StageKind(str, Enum):
    SEND = "send"
    DELAY = "delay"
    WAIT_EVENT = "wait_event"
    UPDATE = "update"
    NOOP = "noop"


KINDS_TEXT = "send, delay, wait_event, update, noop"


MAX_AMOUNT_DIGITS = 1000
"""Arbitrary precision, but bounded input: 10^1000 is beyond any asset's supply."""
MAX_AMOUNT_BITS = 3322  # 10^1000 < 2^3322


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _big_int(value: object) -> int | str:
    """Arbitrary-precision integer from a JSON number or a decimal string, as Formance reads
    amounts (`big.Int.SetString(s, 10)`, a JSON number as an integer). A negative amount is
    accepted here and refused by the ledger when the stage runs, as in Formance; a number
    with a fraction is refused (Formance would truncate it: money silently lost)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer in minor units, not a fraction")
        value = int(value)
    if isinstance(value, int):
        if value.bit_length() > MAX_AMOUNT_BITS:
            raise ValueError(f"must have at most {MAX_AMOUNT_DIGITS} digits")
        return value
    if isinstance(value, str):
        if is_template(value):
            return value
        if value.isascii() and _INTEGER.fullmatch(value):
            if len(value.lstrip("+-")) > MAX_AMOUNT_DIGITS:
                raise ValueError(f"must have at most {MAX_AMOUNT_DIGITS} digits")
            return int(value)
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(f"must be an integer, got {shown!r}")
    raise ValueError("must be an integer")


def _lenient_bool(value: object) -> bool | str:
    """A JSON boolean, or `"true"`/`"false"` in any case (what `${flag}` gives), or a template."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if is_template(value):
            return value
        if value.lower() in {"true", "false"}:
            return value.lower() == "true"
    raise ValueError("must be true or false")


BigAmount = Annotated[int | str, BeforeValidator(_big_int)]
LenientBool = Annotated[bool | str, BeforeValidator(_lenient_bool)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AccountRef(_Spec):
    id: Address
    ledger: LedgerName = "default"
    throughAccount: Address = "world"
    """Where funds leave or enter this ledger on a cross-ledger send (Formance's bridge)."""
    allowOverdraft: LenientBool = False
    """A source may go below zero; a destination's throughAccount may (cross-ledger)."""


class WalletRef(_Spec):
    id: Name | None = None
    name: Name | None = None
    balance: BalanceName = "main"

    @model_validator(mode="after")
    def _one_of_id_or_name(self) -> WalletRef:
        if (self.id is None) == (self.name is None):
            raise ValueError("wallet needs exactly one of id or name")
        return self


class PaymentRef(_Spec):
    id: Name


class Endpoint(_Spec):
    """Source or destination of a send: exactly one of account, wallet, payment."""

    account: AccountRef | None = None
    wallet: WalletRef | None = None
    payment: PaymentRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Endpoint:
        given = [k for k in ("account", "wallet", "payment") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("needs exactly one of account, wallet, payment")
        return self


class Monetary(_Spec):
    amount: BigAmount
    asset: str

    @model_validator(mode="after")
    def _asset_shape(self) -> Monetary:
        if not is_template(self.asset) and not re.fullmatch(r"[A-Z][A-Z0-9]{0,16}(/\d{1,6})?", self.asset):
            raise ValueError(f"asset {self.asset!r} is not like USD or USD/2")
        return self


class SendSpec(_Spec):
    source: Endpoint
    destination: Endpoint
    amount: Monetary
    metadata: Metadata = {}
    timestamp: str | None = None
    allowOverdraft: LenientBool = False
    """flowql's older spelling of `source.account.allowOverdraft`."""


class DelaySpec(_Spec):
    duration: str | None = None
    until: str | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not is_template(value):
            _check(parse_duration, value)
        return value

    @field_validator("until")
    @classmethod
    def _until(cls, value: str | None) -> str | None:
        if value is not None and not is_template(value):
            _check(parse_time, value)
        return value

    @model_validator(mode="after")
    def _one_of(self) -> DelaySpec:
        if (self.duration is None) == (self.until is None):
            raise ValueError("delay needs exactly one of duration or until")
        return self

    def due(self, started: datetime) -> datetime:
        if self.duration is not None:
            return started + parse_duration(self.duration)
        assert self.until is not None
        return parse_time(self.until)


def _check(parser: Callable[..., object], text: str) -> None:
    try:
        parser(text)
    except FlowqlError as error:
        raise ValueError(error.message.split(": ", 1)[-1]) from None


class WaitEventSpec(_Spec):
    event: Name


class UpdateAccount(_Spec):
    id: Address
    ledger: LedgerName = "main"
    metadata: Metadata


class UpdateSpec(_Spec):
    account: UpdateAccount


class NoopSpec(_Spec):
    """Formance's `noop` stage: succeeds at once."""


StageSpec = SendSpec | DelaySpec | WaitEventSpec | UpdateSpec | NoopSpec

_MODELS: dict[StageKind, type[_Spec]] = {
    StageKind.SEND: SendSpec,
    StageKind.DELAY: DelaySpec,
    StageKind.WAIT_EVENT: WaitEventSpec,
    StageKind.UPDATE: UpdateSpec,
    StageKind.NOOP: NoopSpec,
}


def stage_kind(raw: dict[str, Any]) -> StageKind:
    return StageKind(next(iter(raw)))


def parse_stage(raw: object, *, path: str = "stage", concrete: bool = False) -> tuple[StageKind, StageSpec]:
    """Validate one raw stage; errors name the path of the bad field. `concrete`: it was
    interpolated (no string is a template any more, see `bounds`)."""
    if not isinstance(raw, dict):
        raise validation(f"{path}: must be an object with one of {KINDS_TEXT}", field=path)
    if len(raw) != 1:
        keys = ", ".join(sorted(map(str, raw))) or "none"
        raise validation(f"{path}: must have exactly one key among {KINDS_TEXT} (got {keys})", field=path)
    key = next(iter(raw))
    try:
        kind = StageKind(key)
    except ValueError:
        raise validation(
            f"{path}: unknown stage kind {key!r} (expected one of {KINDS_TEXT})", field=f"{path}.{key}"
        ) from None
    try:
        spec = _MODELS[kind].model_validate(
            blank_to_default(raw[key]), context=CONCRETE if concrete else None
        )
    except ValidationError as error:
        raise from_pydantic(error, prefix=f"{path}.{key}") from None
    return kind, spec  # type: ignore[return-value]


def parse_stages(raw: object) -> list[tuple[StageKind, StageSpec]]:
    if not isinstance(raw, list):
        raise validation("stages: must be a list", field="stages")
    return [parse_stage(stage, path=f"stages[{i}]") for i, stage in enumerate(raw)]


def blank_to_default(raw: Any, *, key: str = "") -> Any:
    """Drop the fields whose value is `""` so that their defaults apply (Formance's rule);
    the entries of a `metadata` map are values, not fields, and stay as they are."""
    if isinstance(raw, dict) and key != "metadata":
        return {k: blank_to_default(v, key=k) for k, v in raw.items() if v != ""}
    if isinstance(raw, list):
        return [blank_to_default(v) for v in raw]
    return raw


def has_templates(raw: Any) -> bool:
    if isinstance(raw, str):
        return "${" in raw
    if isinstance(raw, dict):
        return any(has_templates(v) for v in raw.values())
    if isinstance(raw, list):
        return any(has_templates(v) for v in raw)
    return False


def interpolate(raw: Any, variables: dict[str, str], *, path: str = "") -> Any:
    """Replace `${name}` in every string of a raw stage; a variable not defined reads as `""`
    (then the field's default applies, see `blank_to_default`), as in Formance."""
    if isinstance(raw, str):
        if "${" not in raw:
            return raw
        # Measured before it is built: the failure is the stage's (VALIDATION), not the process's.
        size = len(raw) + sum(
            len(variables.get(m.group(1), "")) - len(m.group(0)) for m in TEMPLATE.finditer(raw)
        )
        if size > MAX_EXPANDED_LENGTH:
            raise validation(
                f"{path}: {size} characters after ${{}} expansion (at most {MAX_EXPANDED_LENGTH})",
                field=path,
            )
        return TEMPLATE.sub(lambda match: variables.get(match.group(1), ""), raw)
    if isinstance(raw, dict):
        return {k: interpolate(v, variables, path=f"{path}.{k}" if path else k) for k, v in raw.items()}
    if isinstance(raw, list):
        return [interpolate(v, variables, path=f"{path}[{i}]") for i, v in enumerate(raw)]
    return raw


__all__ = [
    "AccountRef",
    "DelaySpec",
    "Endpoint",
    "Monetary",
    "NoopSpec",
    "PaymentRef",
    "SendSpec",
    "StageKind",
    "StageSpec",
    "UpdateSpec",
    "WaitEventSpec",
    "WalletRef",
    "format_loc",
    "from_pydantic",
    "interpolate",
    "parse_stage",
    "parse_stages",
    "stage_kind",
]
