"""Formance's trigger expressions (expr-lang, github.com/expr-lang/expr) onto our CEL engine.

No well-kept Python implementation of expr-lang exists (PyPI's `expr-lang` 0.1.0 is an
empty package; `enchanter-golem` wraps the Go core without custom functions or maps), so
`translate` parses the expr-lang an expression is written in and writes the CEL that means
the same, which `cel.compile_expression` then checks and runs. What it maps:

- `and` `or` `not` (and `&&` `||` `!`), `==` `!=` `<` `<=` `>` `>=`, `+ - * / %`,
  `in` / `not in`, `?:`, `??` (nil coalescing), `nil`, `true` / `false`;
- `a contains b`, `a startsWith b`, `a endsWith b`, `a matches b` (infix, as expr-lang
  writes them), `len(x)`, `string()` `int()` `float()`, `lower()` `upper()` are refused
  (CEL has none);
- `event.a`, `event["a"]`: a key the event does not have reads as `nil` (expr-lang's map
  access); `event?.a` is nil when `event` is; deeper access into `nil` is an error, as in
  expr-lang;
- `link(event, "rel")`: the resource `event.links` names `rel`, resolved before the expression
  runs (`engine/links.py`); a key it lacks reads as `nil`, as for `event`;
- arrays `[1, 2]`, maps `{a: 1}` (bare keys are strings), strings in `"`, `'` or backticks.

CEL's own method calls (`event.items.exists(i, i.amount > 0)`, `has(event.a)`, `size(x)`)
pass through, so expressions written for flowql's CEL triggers keep working. A syntax error
is a VALIDATION error with `line:col`, raised when the trigger is created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import FlowqlError, validation

ROOT = "event"
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
INFIX_METHODS = {
    "contains": "contains",
    "startsWith": "startsWith",
    "endsWith": "endsWith",
    "matches": "matches",
}
FUNCTIONS = {"len": "size", "float": "double"} | {
    name: name
    for name in ("has", "size", "string", "int", "uint", "double", "bool", "bytes", "dyn", "type",
                 "timestamp", "duration")
}  # fmt: skip
"""expr-lang's functions by their CEL names, and CEL's own (flowql's triggers were CEL)."""
TYPE_NAMES = frozenset(
    {"int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type", "type"}
)
LINKS = "flowql_links"
"""The CEL variable holding the resources `link()` calls resolved, by call number. Expressions
cannot name it: the parser accepts only `event`."""
MAX_LINKS = 8
"""`link()` calls per expression: each may be an HTTP request."""

_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*)
      | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?
                   |\d+(?:[eE][+-]?\d+)?[uU]?)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
      | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
      | (?P<op>\?\?|\?\.|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()\[\]{}])
    """,
    re.VERBOSE,
)

_BINARY: dict[str, tuple[int, str]] = {
    "??": (1, "??"),
    "or": (2, "||"), "||": (2, "||"),
    "and": (3, "&&"), "&&": (3, "&&"),
    "==": (4, "=="), "!=": (4, "!="), "<": (4, "<"), "<=": (4, "<="), ">": (4, ">"), ">=": (4, ">="),
    "in": (4, "in"), "contains": (4, ""), "startsWith": (4, ""), "endsWith": (4, ""), "matches": (4, ""),
    "+": (5, "+"), "-": (5, "-"),
    "*": (6, "*"), "/": (6, "/"), "%": (6, "%"),
}  # fmt: skip
_TERNARY = 0


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class LinkCall:
    """One `link(object, "rel")`: the CEL of its object (which may use earlier calls' results)
    and the relation's name. Its result is `flowql_links["<number>"]`."""

    object: str
    rel: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Translation:
    cel: str
    links: tuple[LinkCall, ...] = ()


@dataclass(frozen=True, slots=True)
class _Expr:
    cel: str
    chain: str | None = None
    """The unguarded CEL of a member chain rooted at `event` (for `has()` and deeper access)."""


class _Parser:
    def __init__(self, field: str, source: str, methods: frozenset[str]) -> None:
        self.field = field
        self.methods = methods
        self.tokens = list(_tokens(field, source))
        self.i = 0
        self.bound: set[str] = set()
        self.links: list[LinkCall] = []

    # --- helpers ------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Tok:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.take()
        if tok.text != text or tok.kind == "string":
            raise self.error(tok, f"expected {text!r}, got {_shown(tok)}")
        return tok

    def error(self, tok: _Tok, message: str) -> FlowqlError:
        return validation(f"{self.field}: {tok.line}:{tok.col}: {message}", field=self.field)

    # --- grammar ------------------------------------------------------------------------
    def parse(self) -> Translation:
        expr = self.ternary()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(tok, f"unexpected {_shown(tok)}")
        return Translation(expr.cel, tuple(self.links))

    def ternary(self) -> _Expr:
        condition = self.binary(1)
        if self.peek().text == "?" and self.peek().kind == "op":
            self.take()
            yes = self.ternary()
            self.expect(":")
            no = self.ternary()
            return _Expr(f"(({condition.cel}) ? ({yes.cel}) : ({no.cel}))")
        return condition

    def binary(self, level: int) -> _Expr:
        left = self.unary()
        while True:
            tok = self.peek()
            negated = tok.kind == "name" and tok.text == "not" and self.peek(1).text == "in"
            op = "in" if negated else tok.text
            if tok.kind == "string" or op not in _BINARY or _BINARY[op][0] < level:
                return left
            precedence, cel_op = _BINARY[op]
            self.take()
            if negated:
                self.take()
            right = self.binary(precedence + 1)
            if op == "??":
                left = _Expr(f"(({left.cel}) != null ? ({left.cel}) : ({right.cel}))")
            elif op in INFIX_METHODS:
                left = _Expr(f"({left.cel}).{INFIX_METHODS[op]}({right.cel})")
            elif negated:
                left = _Expr(f"!(({left.cel}) in ({right.cel}))")
            else:
                left = _Expr(f"({left.cel}) {cel_op} ({right.cel})")

    def unary(self) -> _Expr:
        tok = self.peek()
        if tok.kind != "string" and tok.text in {"not", "!"}:
            self.take()
            return _Expr(f"!({self.unary().cel})")
        if tok.kind == "op" and tok.text in {"-", "+"}:
            self.take()
            operand = self.unary()
            return _Expr(f"-({operand.cel})" if tok.text == "-" else operand.cel)
        return self.postfix(self.primary())

    def primary(self) -> _Expr:
        tok = self.take()
        if tok.kind == "number":
            return _Expr(tok.text)
        if tok.kind == "string":
            return _Expr(_string(tok.text))
        if tok.kind == "name":
            return self.name(tok)
        if tok.text == "(":
            inner = self.ternary()
            self.expect(")")
            return _Expr(f"({inner.cel})")
        if tok.text == "[":
            items = self.items("]")
            return _Expr(f"[{', '.join(items)}]")
        if tok.text == "{":
            return self.map_literal()
        raise self.error(tok, f"unexpected {_shown(tok)}")

    def name(self, tok: _Tok) -> _Expr:
        word = tok.text
        if word in {"true", "false"}:
            return _Expr(word)
        if word == "nil":
            return _Expr("null")
        if self.peek().text == "(" and self.peek().kind == "op":
            return self.call(tok)
        if word == ROOT or word in self.bound:
            return _Expr(word, chain=word if word == ROOT else None)
        if word in TYPE_NAMES or (word == "optional" and self.peek().text == "."):
            return _Expr(word)
        raise self.error(tok, f"unknown name {word!r} (expressions see only 'event')")

    def call(self, tok: _Tok) -> _Expr:
        if tok.text == "link":
            return self.link(tok)
        if tok.text not in FUNCTIONS:
            raise self.error(tok, f"unknown function {tok.text!r}")
        self.expect("(")
        if tok.text == "has":
            argument = self.ternary()
            self.expect(")")
            return _Expr(f"has({argument.chain or argument.cel})")
        arguments = self.items(")")
        return _Expr(f"{FUNCTIONS[tok.text]}({', '.join(arguments)})")

    def link(self, tok: _Tok) -> _Expr:
        """`link(object, "rel")`, Formance's function: the resource the object's `links` entry
        named `rel` points to. Resolved before the expression runs (`engine/links.py`); a
        relation must be a string literal so that it is known here."""
        self.expect("(")
        if self.bound:
            raise self.error(tok, "link() cannot be used inside a comprehension")
        target = self.ternary()
        self.expect(",")
        rel = self.take()
        if rel.kind != "string":
            raise self.error(rel, f"link(): the relation must be a string literal, got {_shown(rel)}")
        self.expect(")")
        if len(self.links) >= MAX_LINKS:
            raise self.error(tok, f"at most {MAX_LINKS} link() calls per expression")
        name = json.loads(_string(rel.text))
        self.links.append(LinkCall(target.cel, name, tok.line, tok.col))
        slot = f"{LINKS}[{json.dumps(str(len(self.links) - 1))}]"
        return _Expr(slot, chain=slot)

    def items(self, closing: str) -> list[str]:
        items: list[str] = []
        while self.peek().text != closing or self.peek().kind == "string":
            items.append(self.ternary().cel)
            if self.peek().text != closing:
                self.expect(",")
        self.take()
        return items

    def map_literal(self) -> _Expr:
        entries: list[str] = []
        while self.peek().text != "}" or self.peek().kind == "string":
            key = self.take()
            if key.kind == "name":
                text = json.dumps(key.text)
            elif key.kind in {"string", "number"}:
                text = _string(key.text) if key.kind == "string" else key.text
            else:
                raise self.error(key, f"expected a map key, got {_shown(key)}")
            self.expect(":")
            entries.append(f"{text}: {self.ternary().cel}")
            if self.peek().text != "}":
                self.expect(",")
        self.take()
        return _Expr("{" + ", ".join(entries) + "}")

    def postfix(self, target: _Expr) -> _Expr:
        while True:
            tok = self.peek()
            if tok.kind != "op" or tok.text not in {".", "?.", "["}:
                return target
            self.take()
            if tok.text == "[":
                key = self.ternary()
                self.expect("]")
                base = target.chain or target.cel
                chain = f"{base}[{key.cel}]"
                if target.chain is not None or target.cel == ROOT:
                    # a map key the event lacks is nil; a list index must exist (as expr-lang)
                    target = _Expr(
                        f"((type({base}) == map && !(({key.cel}) in {base})) ? null : {chain})", chain
                    )
                else:
                    target = _Expr(chain)
                continue
            member = self.take()
            if member.kind != "name":
                raise self.error(member, f"expected a field name, got {_shown(member)}")
            if self.peek().text == "(" and self.peek().kind == "op":
                target = self.method(target, member)
                continue
            base = target.chain or target.cel
            chain = f"{base}.{member.text}"
            guarded = f"(has({chain}) ? {chain} : null)"
            if tok.text == "?.":
                guarded = f"(({target.cel}) == null ? null : {guarded})"
            target = _Expr(guarded, chain) if target.chain is not None else _Expr(chain)

    def method(self, target: _Expr, member: _Tok) -> _Expr:
        if member.text not in self.methods and member.text not in MACROS:
            raise self.error(member, f"unknown function {member.text!r}")
        self.expect("(")
        if member.text in MACROS:
            variable = self.take()
            if variable.kind != "name":
                raise self.error(variable, f"expected a variable name, got {_shown(variable)}")
            self.expect(",")
            self.bound.add(variable.text)
            body = self.ternary()
            self.bound.discard(variable.text)
            self.expect(")")
            return _Expr(f"({target.cel}).{member.text}({variable.text}, {body.cel})")
        arguments = self.items(")")
        return _Expr(f"({target.cel}).{member.text}({', '.join(arguments)})")


def translate(field: str, source: str, *, methods: frozenset[str]) -> Translation:
    """The CEL for an expr-lang expression and its `link()` calls; VALIDATION with `line:col`
    when it does not parse. `methods` are the method names the CEL engine implements."""
    return _Parser(field, source, methods).parse()


def _tokens(field: str, source: str) -> Iterator[_Tok]:
    i, line, line_start = 0, 1, 0
    while i < len(source):
        found = _TOKEN.match(source, i)
        col = i - line_start + 1
        if found is None:
            raise validation(f"{field}: {line}:{col}: unexpected character {source[i]!r}", field=field)
        kind = found.lastgroup or "op"
        text = found.group(0)
        if kind != "space":
            yield _Tok(kind, text, line, col)
        if "\n" in text:
            line += text.count("\n")
            line_start = i + text.rindex("\n") + 1
        i = found.end()
    yield _Tok("end", "", line, i - line_start + 1)


def _string(text: str) -> str:
    if text.startswith("`"):
        return json.dumps(text[1:-1])
    if text.startswith("'"):
        return '"' + text[1:-1].replace('\\"', '"').replace('"', '\\"') + '"'
    return text


def _shown(tok: _Tok) -> str:
    return "end of expression" if tok.kind == "end" else repr(tok.text)


__all__ = ["LINKS", "MAX_LINKS", "LinkCall", "Translation", "translate"]
