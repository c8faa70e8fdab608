"""Hypothesis strategies for the variables of an operation, derived from its definitions.

Each variable's declared type (read against `graphql/schema.graphql`) gives a well-typed
strategy; its name gives domain shapes where the type alone says little (`workflowID`
draws from real records or unknown IDs, `after` from valid and broken cursors, `JSON`
stages from a stage-spec grammar with hostile leaves). Every value may instead be one of
the corpus's hostile values or a value of another type, a required variable may be left
out, and an unknown one added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    type_from_ast,
)
from hypothesis import strategies as st

from . import corpus
from .rawjson import dumps
from .samples import EVENT_TYPE, Samples

SDL = Path(__file__).resolve().parents[3] / "graphql" / "schema.graphql"
Strategy = st.SearchStrategy[Any]


def load_schema() -> GraphQLSchema:
    return build_schema(SDL.read_text(encoding="utf-8"))


hostile: Strategy = st.sampled_from(corpus.ALL)
text: Strategy = st.text(max_size=40) | st.sampled_from(corpus.STRINGS)
unknown_id: Strategy = st.uuids().map(str) | text | st.integers()
json_leaf: Strategy = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
)
any_json: Strategy = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def maybe_hostile(strategy: Strategy) -> Strategy:
    """Well typed three times out of five; else a corpus value or any JSON."""
    return st.one_of(strategy, strategy, strategy, hostile, any_json)


def _optional(**fields: Strategy) -> Strategy:
    return st.fixed_dictionaries({}, optional=fields)


# --- stage specs --------------------------------------------------------------------------
amount: Strategy = maybe_hostile(
    st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from(corpus.AMOUNTS)
)
address: Strategy = maybe_hostile(st.sampled_from(corpus.ADDRESSES) | text)
ledger: Strategy = maybe_hostile(st.sampled_from(["default", "other", ""]) | text)
metadata: Strategy = maybe_hostile(st.dictionaries(text, text, max_size=3))
account: Strategy = st.fixed_dictionaries({"id": address}, optional={"ledger": ledger})
endpoint: Strategy = st.one_of(
    st.builds(lambda a: {"account": a}, account),
    st.builds(
        lambda w: {"wallet": w},
        _optional(id=maybe_hostile(unknown_id), name=maybe_hostile(text), balance=maybe_hostile(text)),
    ),
    st.builds(lambda p: {"payment": p}, _optional(id=maybe_hostile(text))),
    st.builds(lambda a, w: {"account": a, "wallet": w}, account, st.just({"name": "x"})),
    hostile,
)
send: Strategy = st.fixed_dictionaries(
    {
        "source": endpoint,
        "destination": endpoint,
        "amount": st.fixed_dictionaries(
            {"amount": amount, "asset": maybe_hostile(st.sampled_from(corpus.ASSETS))}
        ),
    },
    optional={
        "metadata": metadata,
        "timestamp": maybe_hostile(st.sampled_from(corpus.TIMES)),
        "allowOverdraft": maybe_hostile(st.booleans()),
    },
)
delay: Strategy = _optional(
    duration=maybe_hostile(st.sampled_from(corpus.DURATIONS)),
    until=maybe_hostile(st.sampled_from(corpus.TIMES)),
)
wait_event: Strategy = st.fixed_dictionaries({"event": maybe_hostile(text)})
update: Strategy = st.fixed_dictionaries(
    {"account": st.fixed_dictionaries({"id": address}, optional={"ledger": ledger, "metadata": metadata})}
)
stage: Strategy = st.one_of(
    st.builds(lambda s: {"send": s}, send),
    st.builds(lambda d: {"delay": d}, delay),
    st.builds(lambda w: {"wait_event": w}, wait_event),
    st.builds(lambda u: {"update": u}, update),
    st.builds(lambda d, w: {"delay": d, "wait_event": w}, delay, wait_event),
    st.dictionaries(text, any_json, max_size=2),
    hostile,
)
stages: Strategy = maybe_hostile(st.lists(stage, min_size=0, max_size=4))
cel: Strategy = maybe_hostile(st.sampled_from(corpus.CEL) | text)
string_map: Strategy = maybe_hostile(st.dictionaries(text, text, max_size=4))
cel_vars: Strategy = maybe_hostile(st.dictionaries(text, cel, max_size=3))
event_payload: Strategy = maybe_hostile(
    st.fixed_dictionaries({}, optional={"user": maybe_hostile(text), "amount": amount}) | any_json
)


# --- variables by name and by type ----------------------------------------------------------
def id_strategy(samples: Samples, name: str) -> Strategy:
    pools = {
        "workflowID": samples.workflows,
        "instanceID": samples.instances,
        "triggerID": samples.triggers,
        "walletID": samples.wallets,
        "id": samples.instances,
    }
    known = pools.get(name, ())
    return st.one_of(st.sampled_from(known), unknown_id) if known else unknown_id


def by_name(samples: Samples, name: str) -> Strategy | None:
    """A domain strategy for a variable or input field named `name`, if there is one."""
    shapes: dict[str, Strategy] = {
        "stages": stages,
        "variables": string_map,
        "metadata": string_map,
        "payload": event_payload,
        "filter": cel,
        "vars": cel_vars,
        "after": maybe_hostile(st.sampled_from(corpus.CURSORS) | st.sampled_from(samples.cursors or ("",))),
        "first": maybe_hostile(st.integers(-2, 1002) | st.sampled_from([0, 1, 1000, 1001, 2**31 - 1, 2**31])),
        "stage": maybe_hostile(st.integers(-2, 5) | st.sampled_from([2**31 - 1, -(2**31)])),
        "type": maybe_hostile(st.sampled_from([EVENT_TYPE, "deposit", ""]) | text),
        "event": maybe_hostile(st.sampled_from([EVENT_TYPE, "go"]) | text),
        "eventName": maybe_hostile(st.sampled_from(["go", "GO", "go\x00"]) | text),
        "address": address,
        "ledger": ledger,
    }
    if name in shapes:
        return shapes[name]
    if name.endswith("ID") or name == "id":
        return maybe_hostile(id_strategy(samples, name))
    return None


def for_type(schema: GraphQLSchema, samples: Samples, kind: GraphQLInputType, name: str = "") -> Strategy:
    """A strategy for a value of `kind` (a variable's or an input field's type)."""
    if isinstance(kind, GraphQLNonNull):
        return for_type(schema, samples, kind.of_type, name)
    inner = _nullable(schema, samples, kind, name)
    return st.one_of(st.none(), inner, inner, inner)


def _nullable(schema: GraphQLSchema, samples: Samples, kind: GraphQLInputType, name: str) -> Strategy:
    named = by_name(samples, name)
    if named is not None:
        return named
    if isinstance(kind, GraphQLList):
        return maybe_hostile(st.lists(for_type(schema, samples, kind.of_type), max_size=3))
    if isinstance(kind, GraphQLInputObjectType):
        required = {
            k: for_type(schema, samples, f.type, k) for k, f in kind.fields.items() if _required(f.type)
        }
        optional = {
            k: for_type(schema, samples, f.type, k) for k, f in kind.fields.items() if k not in required
        }
        shaped = st.fixed_dictionaries(required, optional=optional)
        return maybe_hostile(shaped | _drop_or_add(shaped))
    if isinstance(kind, GraphQLEnumType):
        return maybe_hostile(st.sampled_from(list(kind.values)))
    assert isinstance(kind, GraphQLScalarType), kind
    scalars: dict[str, Strategy] = {
        "String": text,
        "ID": unknown_id,
        "Int": st.integers(-(2**31), 2**31 - 1) | st.sampled_from(corpus.NUMBERS),
        "Boolean": st.booleans(),
        "JSON": any_json,
        "BigInt": amount,
        "DateTime": st.sampled_from(corpus.TIMES),
    }
    return maybe_hostile(scalars.get(kind.name, any_json))


def _required(kind: GraphQLInputType) -> bool:
    return isinstance(kind, GraphQLNonNull)


def _drop_or_add(shaped: Strategy) -> Strategy:
    """A dictionary with one key removed or one unknown key added."""

    def change(value: dict[str, Any], drop: bool, extra: Any) -> dict[str, Any]:
        changed = dict(value)
        if drop and changed:
            changed.pop(sorted(changed)[0])
        else:
            changed["unknownField"] = extra
        return changed

    return st.builds(change, shaped, st.booleans(), any_json)


def variables_for(schema: GraphQLSchema, samples: Samples, operation: OperationDefinitionNode) -> Strategy:
    """The `variables` of a request for `operation`: usually an object, sometimes not."""
    fields: dict[str, Strategy] = {}
    for definition in operation.variable_definitions or ():
        kind = type_from_ast(schema, definition.type)
        assert kind is not None, definition.type
        fields[definition.variable.name.value] = for_type(
            schema, samples, kind, definition.variable.name.value
        )  # type: ignore[arg-type]
    shaped = st.fixed_dictionaries(fields)
    return st.one_of(shaped, shaped, shaped, shaped, _drop_or_add(shaped), hostile)


def ws_messages(documents: list[str]) -> Strategy:
    """1-3 protocol messages (either protocol's types) with hostile fields, as JSON text."""
    payload = st.fixed_dictionaries(
        {"query": maybe_hostile(st.sampled_from([*documents, "", " ", "# a comment"]))},
        optional={
            "variables": maybe_hostile(st.dictionaries(text, any_json, max_size=3)),
            "operationName": maybe_hostile(st.none() | text),
            "extensions": maybe_hostile(any_json),
        },
    )
    kinds = [
        "subscribe",
        "start",
        "complete",
        "stop",
        "ping",
        "pong",
        "connection_init",
        "connection_terminate",
    ]
    message = st.fixed_dictionaries(
        {"type": maybe_hostile(st.sampled_from(kinds))},
        optional={"id": maybe_hostile(st.sampled_from(["1", "2"]) | text), "payload": maybe_hostile(payload)},
    )
    return st.lists(
        st.one_of(message, message, message, any_json, hostile).map(dumps), min_size=1, max_size=3
    )


__all__ = ["any_json", "load_schema", "stages", "variables_for", "ws_messages"]
