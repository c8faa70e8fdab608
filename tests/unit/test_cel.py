"""CEL expressions of triggers: checks at compile time, conversions, the sandbox."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flowql.engine.cel import (
    MAX_EXPRESSION_LENGTH,
    compile_expression,
    evaluate,
    make_context,
    to_variable,
)
from flowql.engine.cel_sandbox import Sandbox
from flowql.engine.errors import ErrorCode, FlowqlError


def invalid(field: str, source: str) -> FlowqlError:
    with pytest.raises(FlowqlError) as caught:
        compile_expression(field, source)
    assert caught.value.code is ErrorCode.VALIDATION
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")
    return caught.value


@pytest.mark.parametrize(
    ("source", "position"),
    [
        ("event.amount >", "1:15"),
        ("event.amount > 10 &&\n   (event.currency == ", "2:23"),
        ("event.a == == 1", "1:12"),
        ("event.a startsWith", "1:19"),
        ("event.a ?? ", "1:12"),
        ("'unterminated", "1:1"),
    ],
)
def test_syntax_errors_name_field_and_position(source: str, position: str) -> None:
    error = invalid("filter", source)
    assert f"filter: {position}: " in error.message


def test_var_errors_name_the_variable() -> None:
    error = invalid("vars.amount", "event.amount +")
    assert error.message.startswith("vars.amount: 1:15: ")


def test_unknown_identifiers_and_functions_are_rejected_with_position() -> None:
    assert "1:1: unknown name 'payload'" in invalid("filter", "payload.amount > 1").message
    assert "2:4: unknown name 'bar'" in invalid("filter", "event.a\n&& bar").message
    assert "1:9: unknown function 'lowerAscii'" in invalid("filter", "event.x.lowerAscii() == 'a'").message
    assert "unknown function 'nope'" in invalid("filter", "'nope(' + string(nope(1)) == ''").message


def test_bounds_on_source() -> None:
    assert "expression is empty" in invalid("filter", "  ").message
    too_long = "event.a == '" + "x" * MAX_EXPRESSION_LENGTH + "'"
    assert f"at most {MAX_EXPRESSION_LENGTH}" in invalid("filter", too_long).message


def test_accepted_expressions_and_their_tier() -> None:
    inline = [
        "event.amount > 10 && event.currency == 'USD'",
        "has(event.metadata) && type(event.amount) == int",
        "event.name.startsWith('acc') || 'x' in event.tags",
        "optional.of(event.a).hasValue()",
        "timestamp(event.date).getFullYear() >= 2024",
        "// a comment with a bogus(call\nevent.a == 1",
    ]
    for source in inline:
        assert not compile_expression("filter", source).sandboxed, source
    loops = [
        "event.postings.exists(p, p.amount > 100)",
        "event.items.map(i, i.price).size() > 2",
        "event.s" + " + event.s" * 20 + " == ''",
    ]
    for source in loops:
        assert compile_expression("filter", source).sandboxed, source


def run(source: str, payload: dict[str, Any], kind: str = "var") -> tuple[object, str | None]:
    expression = compile_expression("x", source)
    outcome = evaluate(kind, expression.program, make_context(payload))  # type: ignore[arg-type]
    return outcome.value, outcome.error


def test_filter_must_be_a_bool() -> None:
    assert run("event.amount > 10", {"amount": 11}, "filter") == (True, None)
    assert run("event.amount > 10", {"amount": 9}, "filter") == (False, None)
    assert run("event.amount", {"amount": 9}, "filter") == (None, "filter must evaluate to a bool, got int")


def test_evaluation_errors_are_outcomes() -> None:
    assert run("event.missing == nil", {}, "filter") == (True, None)  # expr-lang: a missing key is nil
    assert run("event.missing.deeper", {}) == (None, "no such key: missing")  # nil has no fields
    value, error = run("event.amount > 1", {"amount": "ten"}, "filter")
    assert value is None and error is not None and error.startswith("No such overload")
    assert run("1 / event.zero", {"zero": 0}) == (None, "division by zero in CEL expression")


def test_variables_become_strings() -> None:
    payload = {"amount": 12345678901234567890, "name": "bob", "f": 1.5, "m": {"a": [1, "x", None]}, "t": True}
    assert run("event.amount", payload) == ("12345678901234567890", None)
    assert run("event.name", payload) == ("bob", None)
    assert run("event.f", payload) == ("1.5", None)
    assert run("event.m", payload) == ('{"a":[1,"x",null]}', None)
    assert run("event.t", payload) == ("true", None)
    assert run("'users:' + event.name", payload) == ("users:bob", None)
    assert run("string(event.amount / 10u)", payload) == ("1234567890123456789", None)
    assert to_variable(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    assert to_variable(timedelta(seconds=90, microseconds=500000)) == "90.5s"
    assert to_variable(b"\x00\x01") == "AAE="
    assert to_variable([datetime(2024, 1, 1, tzinfo=UTC)]) == '["2024-01-01T00:00:00Z"]'
    with pytest.raises(ValueError, match="at most"):
        to_variable("x" * 70000)


async def test_sandbox_evaluates_comprehensions() -> None:
    sandbox = Sandbox(timeout=5.0)
    try:
        payload = json.dumps({"postings": [{"amount": 5}, {"amount": 500}]})
        outcome = await sandbox.evaluate("filter", "event.postings.exists(p, p.amount > 100)", payload)
        assert (outcome.value, outcome.error) == (True, None)
        outcome = await sandbox.evaluate("var", "event.postings.map(p, p.amount)", payload)
        assert (outcome.value, outcome.error) == ("[5,500]", None)
        outcome = await sandbox.evaluate("filter", "event.postings.map(p, p.amount)", payload)
        assert outcome.error == "filter must evaluate to a bool, got list"
    finally:
        await sandbox.close()


async def test_sandbox_kills_a_runaway_expression_and_recovers() -> None:
    sandbox = Sandbox(timeout=0.3)
    try:
        await sandbox.evaluate("filter", "true", "{}")  # spawn outside the measured time
        payload = json.dumps({"l": list(range(3000))})
        started = time.monotonic()
        outcome = await sandbox.evaluate(
            "filter", "event.l.map(x, event.l.map(y, x + y)).size() > 0", payload
        )
        assert outcome.error == "evaluation exceeded 0.3s"
        assert time.monotonic() - started < 2.0
        outcome = await sandbox.evaluate("filter", "event.l.exists(x, x == 2999)", payload)
        assert (outcome.value, outcome.error) == (True, None)
    finally:
        await sandbox.close()
