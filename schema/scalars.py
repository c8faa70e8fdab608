"""Custom scalars: `BigInt` (arbitrary-precision integer as a string), `DateTime`, `JSON`.

GraphQL `Int` is 32-bit, ledger amounts are not: `BigInt` is serialized as a decimal
string and accepts a JSON number or a digit string as input (never a float). Parsers raise
`GraphQLError`, so graphql-core reports bad input as a VALIDATION error, not INTERNAL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

from flowql.engine.bounds import TEMPLATE
from flowql.engine.clock import from_iso, to_iso

BigInt = NewType("BigInt", int)
"""An integer of any size: serialized as a decimal string."""


def _parse_big_int(value: object) -> int | str:
    """An integer; a string holding `${var}` stays a template (stage amounts take variables,
    checked again once interpolated)."""
    if isinstance(value, bool):
        raise GraphQLError("BigInt: expected an integer or a digit string, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value[1:] if value.startswith("-") else value
        if digits.isascii() and digits.isdigit():
            return int(value)
        if TEMPLATE.search(value):
            return value
        raise GraphQLError(f"BigInt: expected a digit string, got {value!r}")
    raise GraphQLError(f"BigInt: expected an integer or a digit string, got {type(value).__name__}")


def _parse_big_int_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int | str:
    if isinstance(node, IntValueNode | StringValueNode):
        return _parse_big_int(int(node.value) if isinstance(node, IntValueNode) else node.value)
    raise GraphQLError("BigInt: expected an integer or a digit string literal")


def _serialize_big_int(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt: cannot serialize {value!r}")
    parsed = _parse_big_int(value)
    if not isinstance(parsed, int):
        raise ValueError(f"BigInt: cannot serialize {value!r}")
    return str(parsed)


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise GraphQLError("DateTime: expected an RFC 3339 string")
    try:
        return from_iso(value)
    except ValueError:  # raised as GraphQLError: a client's mistake, not a server fault
        raise GraphQLError(f"DateTime: invalid RFC 3339 time {value!r}") from None


def _serialize_datetime(value: object) -> str:
    if not isinstance(value, datetime):
        raise ValueError(f"DateTime: cannot serialize {value!r}")
    return to_iso(value)


SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="An integer of any size, serialized as a decimal string; "
        "input accepts a JSON integer or a digit string (never a float); a stage amount may "
        "also be a `${var}` template.",
        serialize=_serialize_big_int,
        parse_value=_parse_big_int,
        parse_literal=_parse_big_int_literal,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="A UTC instant in RFC 3339 with millisecond precision, e.g. 2024-01-31T12:00:00.000Z.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}
"""Passed to `StrawberryConfig(scalar_map=...)` by `build_schema`."""

__all__ = ["JSON", "SCALAR_MAP", "BigInt"]
