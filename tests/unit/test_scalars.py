"""BigInt: decimal strings out; a JSON integer or a digit string in, never a float or bool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from flowql.resolvers.errors import client_error
from flowql.schema.scalars import SCALAR_MAP, BigInt

HUGE = 10**40


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, n: BigInt) -> BigInt:
        return n

    @strawberry.field
    def double(self, n: BigInt) -> BigInt:
        return BigInt(n * 2)

    @strawberry.field
    def moment(self, at: datetime) -> datetime:
        return at


schema = strawberry.Schema(Query, config=StrawberryConfig(scalar_map=SCALAR_MAP))


@pytest.mark.parametrize("value", [HUGE, str(HUGE), -5, "-5", 0])
def test_big_int_variables(value: Any) -> None:
    result = schema.execute_sync("query($n: BigInt!) { echo(n: $n) double(n: $n) }", {"n": value})
    assert result.errors is None
    assert result.data == {"echo": str(int(value)), "double": str(int(value) * 2)}


def test_big_int_literals() -> None:
    result = schema.execute_sync(f'{{ a: echo(n: {HUGE}) b: echo(n: "{HUGE}") }}')
    assert result.errors is None and result.data == {"a": str(HUGE), "b": str(HUGE)}


@pytest.mark.parametrize("value", [1.5, True, "1e3", "12a", "", None, [1]])
def test_big_int_refuses(value: Any) -> None:
    result = schema.execute_sync("query($n: BigInt!) { echo(n: $n) }", {"n": value})
    assert result.errors
    assert client_error(result.errors[0]).extensions == {"code": "VALIDATION"}  # a client error, not a crash


def test_datetime_is_utc_milliseconds() -> None:
    result = schema.execute_sync('{ moment(at: "2024-01-31T13:00:00.123456+01:00") }')
    assert result.errors is None, result.errors
    assert result.data == {"moment": "2024-01-31T12:00:00.123Z"}
