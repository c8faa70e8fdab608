"""Formance's expr-lang trigger expressions, translated onto CEL: every example of Formance's
docs (docs/triggers.md) and tests (internal/triggers/*_test.go, orchestration-triggers.go),
then each operator expr-lang documents."""

from __future__ import annotations

from typing import Any

import pytest

from flowql.engine.cel import compile_expression, evaluate, make_context
from flowql.engine.errors import FlowqlError


def value(source: str, payload: dict[str, Any], kind: str = "filter") -> object:
    expression = compile_expression("filter" if kind == "filter" else "vars.x", source)
    outcome = evaluate(kind, expression.program, make_context(payload))  # type: ignore[arg-type]
    assert outcome.error is None, outcome.error
    return outcome.value


def failure(source: str, payload: dict[str, Any], kind: str = "filter") -> str:
    expression = compile_expression("filter", source)
    outcome = evaluate(kind, expression.program, make_context(payload))  # type: ignore[arg-type]
    assert outcome.error is not None, outcome.value
    return outcome.error


DOCS_FILTERS = [
    ('event.type == "payment"', {"type": "payment"}, True),
    ('event.transaction.status == "completed"', {"transaction": {"status": "completed"}}, True),
    ("event.amount > 1000", {"amount": 999}, False),
    ("event.transaction.amount >= 500.50", {"transaction": {"amount": 600}}, True),
    ('event.type == "transfer" && event.amount > 100', {"type": "transfer", "amount": 101}, True),
    ('event.metadata.provider == "stripe"', {"metadata": {"provider": "adyen"}}, False),
    (
        'event.transaction.amount > 10000 && event.transaction.type == "transfer"',
        {"transaction": {"amount": 20000, "type": "transfer"}},
        True,
    ),
    ("event.a.b.c == 3", {"a": {"b": {"c": 3}}}, True),  # trigger_test.go TestFilters
    ("event.a.b.c > 3", {"a": {"b": {"c": 3}}}, False),
    ("event.a.b.c < 3.14", {"a": {"b": {"c": 3}}}, True),
    ("event.amount > 50", {"amount": 100}, True),  # listener_test.go
]


@pytest.mark.parametrize(("source", "payload", "expected"), DOCS_FILTERS)
def test_formances_filter_examples(source: str, payload: dict[str, Any], expected: bool) -> None:
    assert value(source, payload) is expected


DOCS_VARS = [
    ("event.account.id", {"account": {"id": "acc-1"}}, "acc-1"),
    ("event.metadata.psp", {"metadata": {"psp": "stripe"}}, "stripe"),
    ("event.user.profile.role", {"user": {"profile": {"role": "admin"}}}, "admin"),
    ('event.prefix + "-" + event.id', {"prefix": "tx", "id": "42"}, "tx-42"),
    ("event.items[0].name", {"items": [{"name": "first"}]}, "first"),
    ("event.amount", {"amount": 1200000.0}, "1200000"),  # "using float"
    ("event.amount", {"amount": 1200000}, "1200000"),
    ("event.test", {"test": True}, "true"),
    ('event.foo + "-YYY"', {"foo": "XXX"}, "XXX-YYY"),
    ("event.asset", {"asset": "USD/2"}, "USD/2"),  # orchestration-triggers.go
]


@pytest.mark.parametrize(("source", "payload", "expected"), DOCS_VARS)
def test_formances_vars_examples(source: str, payload: dict[str, Any], expected: str) -> None:
    assert value(source, payload, "var") == expected


OPERATORS = [
    ("event.a > 1 and event.b < 2", {"a": 2, "b": 1}, True),
    ("event.a > 1 or event.b < 2", {"a": 0, "b": 5}, False),
    ("not (event.a > 1)", {"a": 0}, True),
    ("!event.flag", {"flag": False}, True),
    ('event.name startsWith "acc"', {"name": "account"}, True),
    ('event.name endsWith "unt"', {"name": "account"}, True),
    ('event.name contains "cou"', {"name": "account"}, True),
    ('event.name matches "^a.*t$"', {"name": "account"}, True),
    ("len(event.items) == 2", {"items": [1, 2]}, True),
    ('len("abc") == 3', {}, True),
    ("event.missing == nil", {}, True),
    ("event?.missing == nil", {}, True),
    ('event["missing"] == nil', {}, True),
    ('event["a"] == 1', {"a": 1}, True),
    ('"USD" in event.assets', {"assets": ["EUR", "USD"]}, True),
    ('"GBP" not in event.assets', {"assets": ["EUR", "USD"]}, True),
    ('"a" in {a: 1, "b": 2}', {}, True),
    ('event.amount > 100 ? "big" : "small"', {"amount": 5}, "small"),
    ('(event.currency ?? "EUR") == "EUR"', {}, True),
    ('(event.currency ?? "EUR") == "USD"', {"currency": "USD"}, True),
    ("event.n % 2 == 0 && -event.n < 0", {"n": 4}, True),
    ("`raw\\n` == 'raw\\\\n'", {}, True),
    ("event.items.exists(i, i.amount > 100)", {"items": [{"amount": 101}]}, True),  # CEL still works
    ("has(event.a) && size(event.a) == 1", {"a": [1]}, True),
    ("// a comment\nevent.a == 1", {"a": 1}, True),
]


@pytest.mark.parametrize(("source", "payload", "expected"), OPERATORS)
def test_expr_lang_operators(source: str, payload: dict[str, Any], expected: object) -> None:
    assert value(source, payload, "filter" if isinstance(expected, bool) else "var") == expected


def test_a_missing_key_is_nil_and_nil_has_no_fields() -> None:
    assert value("event.missing", {}, "var") == "null"
    assert "no such key: missing" in failure("event.missing.deep", {})  # listener_test.go: an error
    assert value("event?.missing?.deep == nil", {}) is True


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        ("event.amount >", "1:15", "unexpected end of expression"),
        ("event.a ==\n  == 1", "2:3", "unexpected '=='"),
        ("event.a startsWith", "1:19", "unexpected end"),
        ("foo.bar == 1", "1:1", "unknown name 'foo'"),
        ("upper(event.a)", "1:1", "unknown function 'upper'"),
        ("event.a.lowerAscii()", "1:9", "unknown function 'lowerAscii'"),
        ("link(event, event.rel).name", "1:13", "the relation must be a string literal"),
        ("event.a @ 1", "1:9", "unexpected character '@'"),
        ("(event.a", "1:9", "expected ')'"),
    ],
)
def test_errors_at_create_name_line_and_column(source: str, position: str, message: str) -> None:
    with pytest.raises(FlowqlError) as caught:
        compile_expression("filter", source)
    assert caught.value.message.startswith(f"filter: {position}: ")
    assert message in caught.value.message
