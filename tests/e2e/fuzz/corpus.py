"""Hostile values every variable is also tried with, whatever its declared type.

Strings: empty, NUL, lone surrogates, bidi and combining marks, templates, injections,
1 MB-class sizes. Numbers: 32-bit edges, 2**64, +-2**200, floats, NaN/Infinity, 5,000-digit
integers, exponent and non-ASCII digit strings. Structures: empty, wrong kinds, 10,000
keys, nesting from 50 to 100,000 levels. Cursors: every way to break an opaque one.
"""

from __future__ import annotations

import base64
import json

from .rawjson import Raw, nested

HUGE = 2**200

STRINGS: list[object] = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # lone high surrogate (sent as the JSON escape \ud800)
    "x\udfffy",  # lone low surrogate
    "\U0001f600",
    "\u202eevil\u202c",
    "e\u0301" * 50,
    "\ufeff",
    "\r\n\t\x1b[31m",
    "${amount}",
    "${",
    "$${x}",
    "${" + "a" * 1000 + "}",
    "{{7*7}}",
    "' OR '1'='1",
    '"; DROP TABLE workflows; --',
    "../../../../etc/passwd",
    "%s%s%s%n",
    "null",
    "undefined",
    "NaN",
    "-0",
    "0x1F",
    "1e5",
    "1E400",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() is True
    "\u00b2",
    " 1",
    "1_000",
    "+1",
    "-1",
    "9" * 5000,
    "users:\x00",
    "a" * 10_000,
    "\u00e9" * 100_000,
    "x" * 400_000,
]

NUMBERS: list[object] = [
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**53 + 1,
    2**63,
    2**64,
    HUGE,
    -HUGE,
    0.5,
    -0.0,
    1.0,
    1e300,
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e400"),
    Raw("1" + "0" * 5000, label="5001-digit integer"),
    Raw("-" + "9" * 5000, label="-5000-digit integer"),
]

STRUCTURES: list[object] = [
    None,
    True,
    False,
    [],
    {},
    [None],
    [[]],
    {"": ""},
    {"\x00": "\x00"},
    {"\ud800": "x"},
    {"__proto__": {"polluted": True}},
    {"constructor": {"prototype": {}}},
    {f"k{i}": i for i in range(10_000)},
    list(range(10_000)),
    nested(50),
    nested(200),
    nested(990),
    nested(5000, kind="list"),
    nested(100_000),
]


def _b64(raw: str | bytes) -> str:
    return base64.urlsafe_b64encode(raw.encode() if isinstance(raw, str) else raw).decode()


def _cursor(**body: object) -> str:
    return _b64(json.dumps(body))


GOOD_CURSOR = {"c": "2024-01-01T00:00:00.000Z", "i": "x", "d": "next", "s": 10}
CURSORS: list[object] = [
    "",
    "!!!",
    "=",
    "a",
    _b64("not json"),
    _b64(b"\xff\xfe"),
    _b64("[]"),
    _b64("null"),
    _b64('"x"'),
    _cursor(),
    _cursor(**{**GOOD_CURSOR, "s": 0}),
    _cursor(**{**GOOD_CURSOR, "s": -1}),
    _cursor(**{**GOOD_CURSOR, "s": 1001}),
    _cursor(**{**GOOD_CURSOR, "s": HUGE}),
    _cursor(**{**GOOD_CURSOR, "s": 1.5}),
    _cursor(**{**GOOD_CURSOR, "s": "10"}),
    _cursor(**{**GOOD_CURSOR, "c": "yesterday"}),
    _cursor(**{**GOOD_CURSOR, "c": "9999-12-31T23:59:59.999Z"}),
    _cursor(**{**GOOD_CURSOR, "c": "0001-01-01T00:00:00Z"}),
    _cursor(**{**GOOD_CURSOR, "c": 0}),
    _cursor(**{**GOOD_CURSOR, "d": "sideways"}),
    _cursor(**{**GOOD_CURSOR, "i": None}),
    _cursor(**{**GOOD_CURSOR, "i": "\x00"}),
    _cursor(**{**GOOD_CURSOR, "i": {"$gt": ""}}),
    _b64(json.dumps(GOOD_CURSOR))[:-3],
    _b64(json.dumps(GOOD_CURSOR)) + "AAAA",
    _b64("x" * 100_000),
]

ALL: list[object] = [*STRINGS, *NUMBERS, *STRUCTURES]

# Go durations and RFC 3339 times, good and bad, for delay stages.
DURATIONS = ["10s", "1h30m", "0", "-1s", "1e400s", "9" * 400 + "h", ".s", "1h1h", "5d", "NaN", "inf s"]
TIMES = [
    "2030-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01T00:00:00",
    "2024-01-01T00:00:00+25:00",
    "tomorrow",
]
AMOUNTS: list[object] = [
    100,
    "100",
    0,
    -1,
    "-1",
    HUGE,
    -HUGE,
    str(HUGE),
    1.5,
    1.0,
    1e300,
    "1e5",
    "1E5",
    "0x10",
    " 1",
    "1 ",
    "١٢٣",
    "${amount}",
    True,
    None,
    Raw("NaN"),
    Raw("1e400"),
    Raw("1" + "0" * 5000, label="5001-digit integer"),
    "1" + "0" * 5000,
]
ASSETS = ["USD/2", "USD", "usd/2", "USD/-1", "USD/999999999999", "", "X" * 1000, "USD/2\x00", "€/2"]
ADDRESSES = [
    "world",
    "users:1",
    "users:${user}",
    "",
    ":",
    "a::b",
    "users:\x00",
    "x" * 10_000,
    "wallets:x:main",
]
# CEL filters and vars: syntax errors, type errors, overflow, deep parse trees, comprehensions.
CEL = [
    "event.amount > 10",
    "true",
    "",
    " ",
    "(",
    "(" * 300 + "1" + ")" * 300,
    "1" * 400,
    "9223372036854775807 + 1",
    "-9223372036854775808 - 1",
    "1 / 0",
    "1 % 0",
    "event.nope.nope",
    "event.amount.size()",
    "size(event)",
    "string(event)",
    "dyn(event).x",
    "has(event.a)",
    "[1, 2, 3].map(x, [1, 2, 3].map(y, [1, 2, 3].map(z, x * y * z)))",
    "[1, 2].all(x, [1, 2].exists(y, x == y))",
    "{'a': 1}['b']",
    "timestamp('9999-99-99T00:00:00Z')",
    "duration('1e400s')",
    "'\\u0000'",
    "b'\\xff'",
    "event.amount == 'a' ? 1 : 'x'",
    "\u00e9v\u00e9nement",
    "event." + "a." * 1000 + "b",
    "x" * 5000,
]

__all__ = [
    "ADDRESSES",
    "ALL",
    "AMOUNTS",
    "ASSETS",
    "CEL",
    "CURSORS",
    "DURATIONS",
    "HUGE",
    "NUMBERS",
    "STRINGS",
    "STRUCTURES",
    "TIMES",
]
