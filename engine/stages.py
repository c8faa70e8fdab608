"""Stage specs: `send`, `delay`, `wait_event`, `update`, each a one-key object.

Workflows keep the raw JSON the client sent; `parse_stages` validates it at create time
(where a string may still hold `${var}` placeholders) and `parse_stage` again at run time,
after interpolation, when every value must be concrete.
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
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from .clock import parse_duration, parse_time
from .errors import FlowqlError, validation

TEMPLATE = re.compile(r"\$\{([^}]*)\}")


class StageKind(str, Enum):
    SEND = "send"
    DELAY = "delay"
    WAIT_EVENT = "wait_event"
    UPDATE = "update"


MAX_AMOUNT_DIGITS = 1000
"""Arbitrary precision, but bounded input: 10^1000 is beyond any asset's supply."""
MAX_AMOUNT_BITS = 3322  # 10^1000 < 2^3322


def _is_template(value: object) -> bool:
    return isinstance(value, str) and TEMPLATE.search(value) is not None


def _big_int(value: object) -> int | str:
    """Arbitrary-precision non-negative integer from a JSON number or a digit string."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, int):
        if value.bit_length() > MAX_AMOUNT_BITS:
            raise ValueError(f"must have at most {MAX_AMOUNT_DIGITS} digits")
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(value, float):
        raise ValueError("must be an integer in minor units, not a float")
    if isinstance(value, str):
        if _is_template(value):
            return value
        if value.isascii() and value.isdigit():
            if len(value) > MAX_AMOUNT_DIGITS:
                raise ValueError(f"must have at most {MAX_AMOUNT_DIGITS} digits")
            return int(value)
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(f"must be a non-negative integer, got {shown!r}")
    raise ValueError("must be an integer")


BigAmount = Annotated[int | str, BeforeValidator(_big_int)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AccountRef(_Spec):
    id: str
    ledger: str = "default"


class WalletRef(_Spec):
    id: str | None = None
    name: str | None = None
    balance: str = "main"

    @model_validator(mode="after")
    def _one_of_id_or_name(self) -> WalletRef:
        if (self.id is None) == (self.name is None):
            raise ValueError("wallet needs exactly one of id or name")
        return self


class PaymentRef(_Spec):
    id: str


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
        if not _is_template(self.asset) and not re.fullmatch(r"[A-Z][A-Z0-9]{0,16}(/\d{1,6})?", self.asset):
            raise ValueError(f"asset {self.asset!r} is not like USD or USD/2")
        return self


class SendSpec(_Spec):
    source: Endpoint
    destination: Endpoint
    amount: Monetary
    metadata: dict[str, str] = {}
    timestamp: str | None = None
    allowOverdraft: StrictBool = False


class DelaySpec(_Spec):
    duration: str | None = None
    until: str | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _is_template(value):
            _check(parse_duration, value)
        return value

    @field_validator("until")
    @classmethod
    def _until(cls, value: str | None) -> str | None:
        if value is not None and not _is_template(value):
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
    event: str

    @model_validator(mode="after")
    def _not_empty(self) -> WaitEventSpec:
        if not self.event:
            raise ValueError("event name must not be empty")
        return self


class UpdateAccount(_Spec):
    id: str
    ledger: str = "default"
    metadata: dict[str, str]


class UpdateSpec(_Spec):
    account: UpdateAccount


StageSpec = SendSpec | DelaySpec | WaitEventSpec | UpdateSpec

_MODELS: dict[StageKind, type[_Spec]] = {
    StageKind.SEND: SendSpec,
    StageKind.DELAY: DelaySpec,
    StageKind.WAIT_EVENT: WaitEventSpec,
    StageKind.UPDATE: UpdateSpec,
}


def stage_kind(raw: dict[str, Any]) -> StageKind:
    return StageKind(next(iter(raw)))


def parse_stage(raw: object, *, path: str = "stage") -> tuple[StageKind, StageSpec]:
    """Validate one raw stage; errors name the path of the bad field."""
    if not isinstance(raw, dict):
        raise validation(f"{path}: must be an object with one of send, delay, wait_event, update", field=path)
    if len(raw) != 1:
        keys = ", ".join(sorted(map(str, raw))) or "none"
        raise validation(
            f"{path}: must have exactly one key among send, delay, wait_event, update (got {keys})",
            field=path,
        )
    key = next(iter(raw))
    try:
        kind = StageKind(key)
    except ValueError:
        raise validation(
            f"{path}: unknown stage kind {key!r} (expected send, delay, wait_event or update)",
            field=f"{path}.{key}",
        ) from None
    try:
        spec = _MODELS[kind].model_validate(raw[key])
    except ValidationError as error:
        raise from_pydantic(error, prefix=f"{path}.{key}") from None
    return kind, spec  # type: ignore[return-value]


def parse_stages(raw: object) -> list[tuple[StageKind, StageSpec]]:
    if not isinstance(raw, list):
        raise validation("stages: must be a list", field="stages")
    return [parse_stage(stage, path=f"stages[{i}]") for i, stage in enumerate(raw)]


def format_loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part and not str(part).startswith("function-") and part not in {"int", "str"}:
            path = f"{path}.{part}" if path else str(part)
    return path


def from_pydantic(error: ValidationError, *, prefix: str) -> FlowqlError:
    """Turn pydantic's first error into a VALIDATION error that names the field's path."""
    first = error.errors()[0]
    field = format_loc(prefix, tuple(first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field is missing"
    return validation(f"{field}: {message}", field=field)


def has_templates(raw: Any) -> bool:
    if isinstance(raw, str):
        return "${" in raw
    if isinstance(raw, dict):
        return any(has_templates(v) for v in raw.values())
    if isinstance(raw, list):
        return any(has_templates(v) for v in raw)
    return False


def interpolate(raw: Any, variables: dict[str, str], *, path: str = "") -> Any:
    """Replace `${name}` in every string of a raw stage; a missing variable is an error."""
    if isinstance(raw, str):
        if "${" not in raw:
            return raw

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise validation(f"{path}: variable {name!r} is not defined", field=path)
            return variables[name]

        return TEMPLATE.sub(substitute, raw)
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
    "PaymentRef",
    "SendSpec",
    "StageKind",
    "StageSpec",
    "UpdateSpec",
    "WaitEventSpec",
    "WalletRef",
    "interpolate",
    "parse_stage",
    "parse_stages",
    "stage_kind",
]
