"""CEL expressions of triggers: compile and check at create time, evaluate over `event`.

Built on the `common-expression-language` package (Rust's cel crate under PyO3). It parses
but does not type-check, and its evaluation holds the GIL: a thread cannot keep a slow
expression from stalling the event loop. So `compile_expression` adds the checks that make
evaluation predictable:

* syntax errors, unknown identifiers and unknown functions are VALIDATION errors naming the
  field and the `line:col` of the fault;
* an expression is *inline* when its cost is bounded by its length times the payload size
  (no comprehension macro, few `+` that could grow strings or lists): it runs on the loop,
  in a few microseconds. Any other expression is *sandboxed*: it runs in a worker process
  with a hard timeout (`cel_sandbox`), because comprehensions in this implementation cost
  O(n²) or worse in the list size.

Results become strings for workflow variables (`to_variable`); filters must yield a bool.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import cel

from .errors import FlowqlError, validation
from .expr_lang import LINKS, translate

MAX_EXPRESSION_LENGTH = 4096
MAX_VARIABLE_LENGTH = 65536
"""A variable longer than this is an evaluation error (it would be stored in the instance)."""
MAX_INLINE_PLUS = 16
"""More `+` than this and a string or list could grow quadratically: sandbox it."""

Kind = Literal["filter", "var"]

ROOTS = frozenset({"event"})
"""The only variable an expression sees."""
_CONTEXT = ROOTS | {LINKS}
"""What the CEL sees: `event`, and the resources `link()` calls resolved (not nameable in
expr-lang source: the translator accepts only `event`)."""
_BUILTIN_ROOTS = frozenset(
    {"optional", "int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})
FUNCTIONS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches",
        "int", "uint", "double", "string", "bytes", "timestamp", "duration", "dyn", "type", "has",
        "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
        "getHours", "getMinutes", "getSeconds", "getMilliseconds",
        "of", "ofNonZeroValue", "none", "or", "orValue", "hasValue", "value",
    }
)  # fmt: skip
"""Named functions the cel crate implements natively (operators are named `_+_`, `@in`...)."""

_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled, checked expression of one trigger field (`filter`, `vars.amount`)."""

    field: str
    source: str
    program: cel.Program
    sandboxed: bool
    links: tuple[Link, ...] = ()
    """The `link()` calls, in the order they are resolved (an object may use earlier ones)."""


@dataclass(frozen=True, slots=True)
class Link:
    """One `link(object, "rel")`: the program giving its object, and the relation."""

    rel: str
    object: cel.Program


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one evaluation gave: a bool (filter) or a string (var), or an error message."""

    value: bool | str | None = None
    error: str | None = None


# --- compile ---------------------------------------------------------------------------


def compile_expression(field: str, source: str) -> Expression:
    """Compile and check `source`; a VALIDATION error names `field` and `line:col`."""
    if not isinstance(source, str):
        raise validation(f"{field}: must be a string holding a CEL expression", field=field)
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise validation(
            f"{field}: expression is {len(source)} characters, at most {MAX_EXPRESSION_LENGTH}", field=field
        )
    if not source.strip():
        raise validation(f"{field}: expression is empty", field=field)
    translation = translate(field, source, methods=FUNCTIONS)  # Formance's expr-lang, as CEL
    source = translation.cel
    program = _compile(field, source)
    links: list[Link] = []
    for call in translation.links:
        if _Shape.of(call.object).comprehensions:
            raise validation(
                f"{field}: {call.line}:{call.col}: link(): the object cannot be a comprehension", field=field
            )
        links.append(Link(call.rel, _compile(field, call.object)))
    shape = _Shape.of(source)
    bound = shape.bound
    for name in program.variables():
        if name not in _CONTEXT and name not in _BUILTIN_ROOTS and name not in bound:
            line, col = shape.position(name, call=False)
            raise validation(
                f"{field}: {line}:{col}: undeclared reference to '{name}' (expressions see only 'event')",
                field=field,
            )
    for name in program.functions():
        if name[0].isalpha() and name not in FUNCTIONS:
            line, col = shape.position(name, call=True)
            raise validation(f"{field}: {line}:{col}: unknown function '{name}'", field=field)
    loops = shape.comprehensions or any(
        v not in _CONTEXT and v not in _BUILTIN_ROOTS for v in program.variables()
    )
    sandboxed = loops or shape.plus > MAX_INLINE_PLUS
    return Expression(field, source, program, sandboxed=sandboxed, links=tuple(links))


def _compile(field: str, source: str) -> cel.Program:
    try:
        return cel.compile(source)
    except ValueError as exc:
        raise _syntax_error(field, source, str(exc)) from None
    except Exception as exc:  # the parser panicking on odd input
        raise validation(f"{field}: invalid CEL expression: {_first_line(str(exc))}", field=field) from None


def _syntax_error(field: str, source: str, text: str) -> FlowqlError:
    text = text.removeprefix(f"Failed to parse expression '{source}': ")
    found = _POSITION.search(text)
    if found is None:
        return validation(f"{field}: invalid CEL expression: {_first_line(text)}", field=field)
    line, col, detail = found.groups()
    return validation(f"{field}: {line}:{col}: {detail.strip()}", field=field)


@dataclass(slots=True)
class _Shape:
    """What a token scan tells that the cel package does not: where names are, which
    variables comprehensions bind, and how many `+` could grow a value."""

    tokens: list[tuple[str, str, int, int]]  # (kind, text, line, col)
    bound: set[str]
    comprehensions: bool
    plus: int

    @classmethod
    def of(cls, source: str) -> _Shape:
        tokens = list(_tokens(source))
        bound: set[str] = set()
        comprehensions = False
        for i, (_, text, _, _) in enumerate(tokens):
            if text == "." and i + 3 < len(tokens) and tokens[i + 2][1] == "(":
                name, arg = tokens[i + 1], tokens[i + 3]
                if name[0] == "id" and arg[0] == "id" and i + 4 < len(tokens) and tokens[i + 4][1] == ",":
                    if name[1] in COMPREHENSIONS:
                        comprehensions = True
                    bound.add(arg[1])
        plus = sum(1 for kind, text, _, _ in tokens if kind == "op" and text == "+")
        return cls(tokens, bound, comprehensions, plus)

    def position(self, name: str, *, call: bool) -> tuple[int, int]:
        for i, (kind, text, line, col) in enumerate(self.tokens):
            if kind != "id" or text != name:
                continue
            followed = i + 1 < len(self.tokens) and self.tokens[i + 1][1] == "("
            selected = i > 0 and self.tokens[i - 1][1] == "."
            if call == followed and (call or not selected):
                return line, col
        return 1, 1


_STRING_START = re.compile(r"(?:[rR][bB]?|[bB][rR]?)?('''|\"\"\"|'|\")")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[uU]?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(source: str) -> Iterator[tuple[str, str, int, int]]:
    """Identifiers and punctuation with 1-based line:col; literals skipped. Only run on
    source the parser accepted, so it may be lenient."""
    i, line, line_start = 0, 1, 0
    while i < len(source):
        ch = source[i]
        col = i - line_start + 1
        if ch == "\n":
            i, line, line_start = i + 1, line + 1, i + 1
        elif ch.isspace():
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
        elif string := _STRING_START.match(source, i):
            end = _string_end(source, string.end(), string.group(1), raw="r" in string.group(0)[:2].lower())
            line += source.count("\n", i, end)
            if "\n" in source[i:end]:
                line_start = source.rindex("\n", i, end) + 1
            i = end
        elif ch.isdigit() or (ch == "." and source[i + 1 : i + 2].isdigit()):
            number = _NUMBER.match(source, i)
            i = number.end() if number else i + 1
        elif ident := _IDENT.match(source, i):
            yield ("id", ident.group(0), line, col)
            i = ident.end()
        else:
            yield ("op", ch, line, col)
            i += 1


def _string_end(source: str, start: int, quote: str, *, raw: bool) -> int:
    i = start
    while i < len(source):
        if not raw and source[i] == "\\":
            i += 2
        elif source.startswith(quote, i):
            return i + len(quote)
        else:
            i += 1
    return len(source)


# --- evaluate --------------------------------------------------------------------------


def make_context(payload: Any, links: dict[str, Any] | None = None) -> cel.Context:
    """Convert the payload once per event; every inline program of the event reuses it.
    `links`: the resources an expression's `link()` calls resolved, by call number."""
    return cel.Context({"event": payload} if links is None else {"event": payload, LINKS: links})


def evaluate(kind: Kind, program: cel.Program, context: cel.Context | dict[str, Any]) -> Outcome:
    """Run one program; never raises (an evaluation failure is an `Outcome.error`)."""
    try:
        result = program.execute(context)
    except Exception as exc:
        return Outcome(error=describe(exc))
    try:
        return Outcome(value=to_filter(result) if kind == "filter" else to_variable(result))
    except ValueError as exc:
        return Outcome(error=str(exc))


def describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0] if exc.args else ''}"
    text = _first_line(str(exc))
    if text.startswith("No such overload"):
        text = text.split(". ", 1)[0]
    return text or type(exc).__name__


def to_filter(result: Any) -> bool:
    if isinstance(result, bool):
        return result
    raise ValueError(f"filter must evaluate to a bool, got {type_name(result)}")


def to_variable(result: Any) -> str:
    """Strings as they are, integers as digits, everything else as JSON (bytes in base64,
    timestamps RFC 3339, durations `90s`: the protobuf JSON mapping), top-level unquoted."""
    if isinstance(result, cel.OptionalValue):
        result = result.value() if result.has_value() else None
    if isinstance(result, str):
        text = result
    elif isinstance(result, bool):
        text = "true" if result else "false"
    elif isinstance(result, int):
        text = str(result)
    elif isinstance(result, float) and result.is_integer() and abs(result) < 1e21:
        text = str(int(result))  # as Go's JSON writes 1200000.0 (Formance's trigger vars)
    elif isinstance(result, bytes | datetime | timedelta):
        text = _json_default(result)
    else:
        try:
            text = json.dumps(
                result, default=_json_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"result cannot be converted to a string: {exc}") from None
    if len(text) > MAX_VARIABLE_LENGTH:
        raise ValueError(f"result is {len(text)} characters, at most {MAX_VARIABLE_LENGTH}")
    return text


def _json_default(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / Decimal(10**6)
        return f"{seconds.normalize():f}s"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} has no JSON form")
    if isinstance(value, cel.OptionalValue):
        return _json_default(value.value()) if value.has_value() else "null"
    raise TypeError(f"{type_name(value)} has no JSON form")


def type_name(value: Any) -> str:
    names: list[tuple[type, str]] = [
        (bool, "bool"), (int, "int"), (float, "double"), (str, "string"), (bytes, "bytes"),
        (list, "list"), (dict, "map"), (datetime, "timestamp"), (timedelta, "duration"),
    ]  # fmt: skip
    if value is None:
        return "null"
    return next((name for kind, name in names if isinstance(value, kind)), type(value).__name__)


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0][:300]


__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "Expression",
    "Link",
    "Outcome",
    "compile_expression",
    "evaluate",
    "make_context",
    "to_filter",
    "to_variable",
]
