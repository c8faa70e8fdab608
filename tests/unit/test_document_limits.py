"""Depth and alias limits measure each fragment once (found by tests/e2e/test_graphql_fuzz.py:
Strawberry's limiters re-walked every spread, so a 1 KB fragment fan-out froze the server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate
from strawberry.extensions.max_aliases import count_fields_with_alias
from strawberry.extensions.query_depth_limiter import determine_depth, get_fragments

from flowql.resolvers import create_schema
from flowql.resolvers.limits import document_limits_rule, measure_operations

OPERATIONS = sorted((Path(__file__).resolve().parents[2] / "graphql" / "operations").glob("*.graphql"))
DOCUMENTS = [
    "{ workflows { edges { node { id } } } }",
    "{ a: workflows { edges { node { b: id c: name } } } d: serverInfo { version } }",
    "query Q { instances { edges { node { ...I } } } } fragment I on Instance { w: workflow { ...W } }"
    " fragment W on Workflow { instances { edges { node { id x: status } } } }",
    "{ ... on Query { instance(id: 1) { ... { stages { index k: kind } } } } }",
    "{ __schema { types { fields { name } } } serverInfo { version } }",
    *(path.read_text(encoding="utf-8") for path in OPERATIONS),
]


def fan_out(levels: int, leaf: str = "serverInfo { version }") -> str:
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    fragments += [
        f"fragment F{i} on Query {{ {' '.join([f'...F{i - 1}'] * 10)} }}" for i in range(1, levels + 1)
    ]
    return " ".join(fragments) + f" query Bomb {{ ...F{levels} }}"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_same_measures_as_strawberry(document: str) -> None:
    ast = parse(document)
    fragments = get_fragments(ast.definitions)
    for operation, measure in measure_operations(ast).items():
        depth = determine_depth(operation, fragments, 0, 10**6, None, "op", None)  # type: ignore[arg-type]
        assert measure.depth == depth
        assert measure.aliases == count_fields_with_alias(operation, fragments)


# A walk that re-visits every spread would take 10**300 steps here: it never finishes, and the
# generous timeout catches it without a wall-clock assertion that flakes on a loaded machine.
@pytest.mark.timeout(20)
def test_fan_out_is_measured_in_linear_time() -> None:
    (measure,) = measure_operations(parse(fan_out(300, "a: serverInfo { version }"))).values()
    assert measure.aliases == 10**300 and measure.depth == 1


@pytest.mark.timeout(20)
def test_fan_out_is_refused_quickly_by_the_schema() -> None:
    schema = create_schema()._schema
    rule = document_limits_rule(12, 30)
    errors = validate(schema, parse(fan_out(30, "a: serverInfo { version }")), [rule])
    assert [e.message for e in errors] == [f"{10**30} aliases found. Allowed: 30"]


def test_depth_through_fragments_is_refused() -> None:
    chain = ["fragment I0 on Instance { id }"]
    chain += [
        f"fragment I{i} on Instance {{ workflow {{ instances {{ edges {{ node {{ ...I{i - 1} }} }} }} }} }}"
        for i in range(1, 4)
    ]
    document = " ".join(chain) + " query Deep { instances { edges { node { ...I3 } } } }"
    errors = validate(create_schema()._schema, parse(document), [document_limits_rule(12, 30)])
    assert [e.message for e in errors] == ["'Deep' exceeds maximum operation depth of 12"]


def test_fragment_cycles_terminate() -> None:
    (measure,) = measure_operations(
        parse("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    ).values()
    assert measure.depth == 0 and measure.aliases == 0
