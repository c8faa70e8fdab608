"""Hostile documents and bodies: what the document limits and the transport must refuse.

Each attack names the refusal it expects (a substring of the error message), so a limit
that stops working fails the test even when the server stays polite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .rawjson import nested

DEPTH = "exceeds maximum operation depth"
ALIASES = "aliases"
TOKENS = "tokens"
NESTING = "nested too deeply"
INTROSPECTION = "introspection depth"


@dataclass(frozen=True, slots=True)
class Attack:
    name: str
    body: str | bytes
    refusal: str | None
    """A substring of the error message; None: any client error (or an answer) will do."""
    content_type: str = "application/json"


def _query(document: str, **extra: object) -> str:
    return json.dumps({"query": document, **extra})


def _fan_out(levels: int, fan: int = 10, leaf: str = "serverInfo { version }") -> str:
    """Fragment F{n} spreads F{n-1} `fan` times: fan**levels expansions in ~fan*levels tokens."""
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    for level in range(1, levels + 1):
        spreads = " ".join([f"...F{level - 1}"] * fan)
        fragments.append(f"fragment F{level} on Query {{ {spreads} }}")
    return " ".join(fragments) + f" query Bomb {{ ...F{levels} }}"


def _aliases(count: int, field: str = "serverInfo { version }") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def _deep_selection(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"workflow {{ instances {{ edges {{ node {{ {inner} }} }} }} }}"
    return f"{{ instances {{ edges {{ node {{ {inner} }} }} }} }}"


def _fragment_chain(levels: int) -> str:
    """Depth hidden behind fragments: each adds one Instance -> Workflow -> Instance hop."""
    parts = ["fragment I0 on Instance { id }"]
    for level in range(1, levels + 1):
        hop = f"workflow {{ instances {{ edges {{ node {{ ...I{level - 1} }} }} }} }}"
        parts.append(f"fragment I{level} on Instance {{ {hop} }}")
    return " ".join(parts) + f" {{ instances {{ edges {{ node {{ ...I{levels} }} }} }} }}"


ATTACKS = [
    Attack("31 aliases", _query(_aliases(31)), ALIASES),
    Attack("alias bomb within the token limit", _query(_aliases(600, "__typename")), ALIASES),
    Attack("alias bomb past the token limit", _query(_aliases(5000)), TOKENS),
    Attack("aliases behind fragments", _query(_fan_out(3, leaf="a: serverInfo { version }")), ALIASES),
    Attack("fragment fan-out 10**8", _query(_fan_out(8)), None),
    Attack("fragment fan-out 10**30", _query(_fan_out(30)), None),
    Attack("deep selection", _query(_deep_selection(5)), DEPTH),
    Attack("depth behind fragments", _query(_fragment_chain(5)), DEPTH),
    Attack("selection nested 2,000 deep", _query("{ " + "a { " * 1990 + "b" + " }" * 1990 + " }"), NESTING),
    Attack(
        "list literal nested 1,900 deep",
        _query("{ instance(id: " + "[" * 1900 + "1" + "]" * 1900 + ") { id } }"),
        NESTING,
    ),
    Attack(
        "object literal nested 900 deep in a JSON argument",
        _query(
            'mutation { publishEvent(type: "x", payload: ' + "{a: " * 900 + "1" + "}" * 900 + ") { date } }"
        ),
        None,
    ),
    Attack(
        "introspection cycle",
        _query("{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"),
        INTROSPECTION,
    ),
    Attack(
        "fragment cycle",
        _query("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
        "itself",
    ),
    Attack(
        "repeated directive", _query("{ serverInfo " + "@include(if: true) " * 500 + "{ version } }"), "once"
    ),
    Attack("30,000 tokens", _query("{ " + "__typename " * 30_000 + "}"), TOKENS),
    Attack("500 KB string literal", _query('{ instance(id: "' + "x" * 500_000 + '") { id } }'), None),
    Attack(
        "two operations, no name",
        _query("query A { serverInfo { version } } query B { serverInfo { store } }"),
        "operation",
    ),
    Attack(
        "unknown operation name",
        _query("query A { serverInfo { version } }", operationName="B"),
        "Unknown operation",
    ),
    Attack("operationName not a string", _query("{ serverInfo { version } }", operationName=5), None),
    Attack("empty document", _query(""), None),
    Attack("NUL in document", _query("{ serverInfo { version } }\x00"), None),
    Attack("query is a number", json.dumps({"query": 5}), None),
    Attack("query is missing", json.dumps({"variables": {}}), None),
    Attack(
        "variables not an object", json.dumps({"query": "{ serverInfo { version } }", "variables": [1]}), None
    ),
    Attack(
        "extensions not an object", json.dumps({"query": "{ serverInfo { version } }", "extensions": 1}), None
    ),
    Attack("a batch", json.dumps([{"query": "{ serverInfo { version } }"}] * 2), None),
    Attack("body is not JSON", "{query", None),
    Attack("body is JSON null", "null", None),
    Attack("body is invalid UTF-8", b'{"query": "{ serverInfo { version } }", "x": "\xff\xfe"}', None),
    Attack(
        "body nested 100,000 deep",
        '{"query": "{ serverInfo { version } }", "x": ' + nested(100_000).text + "}",
        None,
    ),
    Attack(
        "variables nested 990 deep",
        '{"query": "{ serverInfo { version } }", "variables": {"v": ' + nested(990).text + "}}",
        None,
    ),
    Attack(
        "body over 1 MiB", json.dumps({"query": "{ serverInfo { version } }", "pad": "x" * 2_000_000}), None
    ),
    Attack("lone surrogate in the document", '{"query": "{ instance(id: \\"\\ud800\\") { id } }"}', None),
    Attack(
        "subscription over POST", _query('subscription { stageTransitions(instanceID: "x") { seq } }'), None
    ),
    Attack("text/plain body", _query("{ serverInfo { version } }"), None, content_type="text/plain"),
    Attack(
        "form body",
        "query=%7B+serverInfo+%7B+version+%7D+%7D",
        None,
        content_type="application/x-www-form-urlencoded",
    ),
]

__all__ = ["ATTACKS", "Attack"]
