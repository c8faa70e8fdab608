"""Bounded inputs: the names, addresses and metadata a client may give, as pydantic types.

Stage specs (`stages.py`) and the services' inputs validate with these, so GraphQL and REST
refuse the same things with the same field. A string that still holds `${var}` (a stage at
create time) is measured but not matched: it is checked again once interpolated, when the
stage runs (then a failure fails the stage with VALIDATION), with the validation context
`CONCRETE`: every value is matched then, even one a variable made look like a template.

Formance's rules: account addresses are segments `[a-zA-Z0-9_-]+` joined by `:`
(formancehq/ledger `pkg/accounts`), ledger names `[0-9a-zA-Z_-]{1,63}` (ledger v2
`ledgerNameFormat`), wallet balance names one such segment. Formance bounds no lengths;
these bounds are flowql's (docs/security.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, TypeAdapter, ValidationError, ValidationInfo

from .errors import FlowqlError, shown, validation

TEMPLATE = re.compile(r"\$\{([^}]*)\}")
MAX_NAME_LENGTH = 256
"""Characters of a workflow, wallet, event, trigger, balance or variable name, an id, a
metadata key."""
MAX_ADDRESS_LENGTH = 1024
"""Characters of an account address (hierarchical: `users:{uuid}:orders:{uuid}:...`)."""
MAX_LEDGER_LENGTH = 63
"""Formance's: `^[0-9a-zA-Z_-]{1,63}$`."""
MAX_METADATA_VALUE = 4096
"""Characters of one metadata value (as of a run variable)."""
MAX_METADATA_ENTRIES = 256
SEGMENT = r"[a-zA-Z0-9_-]+"
ADDRESS = re.compile(rf"{SEGMENT}(:{SEGMENT})*")
LEDGER = re.compile(r"[0-9a-zA-Z_-]{1,63}")
BALANCE = re.compile(SEGMENT)
CONCRETE = {"concrete": True}
"""Validation context of interpolated stages: no value is a template any more."""


def is_template(value: object) -> bool:
    return isinstance(value, str) and TEMPLATE.search(value) is not None


def _bounded(
    limit: int, *, pattern: re.Pattern[str] | None = None, what: str = "", empty: bool = True
) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters (got {len(value)})")
        if not empty and not value.strip():
            raise ValueError("must not be empty")
        concrete = bool(info.context and info.context.get("concrete"))
        if pattern is not None and (concrete or not is_template(value)) and not pattern.fullmatch(value):
            raise ValueError(f"invalid {what} {shown(value)}")
        return value

    return AfterValidator(check)


Name = Annotated[str, _bounded(MAX_NAME_LENGTH, empty=False)]
"""A non-empty name of at most 256 characters."""
Label = Annotated[str, _bounded(MAX_NAME_LENGTH)]
"""A name that may be empty (a workflow's)."""
Address = Annotated[str, _bounded(MAX_ADDRESS_LENGTH, pattern=ADDRESS, what="account address")]
LedgerName = Annotated[str, _bounded(MAX_ADDRESS_LENGTH, pattern=LEDGER, what="ledger name")]
"""A template may be longer than 63 characters; its expansion may not."""
BalanceName = Annotated[str, _bounded(MAX_NAME_LENGTH, pattern=BALANCE, what="balance name")]


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_ENTRIES:
        raise ValueError(f"at most {MAX_METADATA_ENTRIES} entries (got {len(value)})")
    for key, entry in value.items():
        if not key or len(key) > MAX_NAME_LENGTH:
            raise ValueError(f"keys of 1 to {MAX_NAME_LENGTH} characters (got {len(key)})")
        if "\x00" in key:
            # MongoDB field names cannot hold NUL; refused on every store alike.
            raise ValueError(f"{shown(key)}: keys must not contain the NUL character")
        if len(entry) > MAX_METADATA_VALUE:
            raise ValueError(f"{key!r}: values of at most {MAX_METADATA_VALUE} characters (got {len(entry)})")
    return value


Metadata = Annotated[dict[str, str], AfterValidator(_metadata)]
"""At most 256 entries, keys of 1-256 characters without NUL, values of at most 4,096."""


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


T = TypeVar("T")
_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def check(kind: Any, value: T, *, field: str) -> T:
    """`value` validated as `kind` (one of the types above), or VALIDATION naming `field`."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    try:
        adapter.validate_python(value, strict=True, context=CONCRETE)
    except ValidationError as error:
        raise from_pydantic(error, prefix=field) from None
    return value


__all__ = [
    "ADDRESS",
    "CONCRETE",
    "MAX_ADDRESS_LENGTH",
    "MAX_METADATA_ENTRIES",
    "MAX_METADATA_VALUE",
    "MAX_NAME_LENGTH",
    "TEMPLATE",
    "Address",
    "BalanceName",
    "Label",
    "LedgerName",
    "Metadata",
    "Name",
    "check",
    "from_pydantic",
    "is_template",
]
