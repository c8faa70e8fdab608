"""Reading requests: JSON bodies, query parameters, path numbers. Every failure is VALIDATION."""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from flowql.engine.errors import validation

YAML = "text/vnd.yaml"


async def json_body(request: web.Request) -> Any:
    """The decoded JSON body; `...` (Ellipsis) when the body is empty."""
    raw = await request.read()
    if not raw.strip():
        return ...
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise validation(f"body: malformed JSON ({error})", field="body") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with timestamps left as strings (as they are in JSON) and
    without aliases (an alias bomb would expand exponentially once written as JSON)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not accepted")
        return super().compose_node(parent, index)


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


async def document_object(request: web.Request) -> dict[str, Any]:
    """A JSON object, or a YAML mapping when the body is `text/vnd.yaml` (as Formance
    accepts for workflows); YAML is brought to what the same JSON would be."""
    if request.content_type != YAML:
        return await json_object(request)
    try:
        loaded = yaml.load(await request.read(), Loader=_YamlLoader)  # a SafeLoader
        body = json.loads(json.dumps(loaded, allow_nan=False))
    except (yaml.YAMLError, TypeError, ValueError, RecursionError) as error:
        raise validation(f"body: malformed YAML ({error})", field="body") from None
    if not isinstance(body, dict):
        raise validation("body: must be a mapping", field="body")
    return body


async def json_object(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` unless `required`."""
    body = await json_body(request)
    if body is ...:
        if required:
            raise validation("body: a JSON object is required", field="body")
        return {}
    if not isinstance(body, dict):
        raise validation("body: must be a JSON object", field="body")
    return body


def strings(value: object, *, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise validation(f"{field}: must be an object of strings", field=field)
    return value


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(f"{key}: must be a string", field=key)
    return value


def required_str(body: dict[str, Any], key: str) -> str:
    value = optional_str(body, key)
    if not value:
        raise validation(f"{key}: required", field=key)
    return value


def string_map(body: dict[str, Any], key: str) -> dict[str, str]:
    value = body.get(key)
    return {} if value is None else strings(value, field=key)


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def query_bool(request: web.Request, name: str) -> bool:
    """`true`/`1` or `false`/`0` (any case); absent is false, anything else VALIDATION."""
    if name not in request.query:
        return False
    text = request.query[name].strip().lower()
    if text not in _TRUE | _FALSE:
        raise validation(f"{name}: must be true or false, got {text!r}", field=name)
    return text in _TRUE


def query_int(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    if not text.isascii() or not text.strip().lstrip("-").isdigit():
        raise validation(f"{name}: must be an integer, got {text!r}", field=name)
    return int(text)


def path_int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise validation(f"{name}: must be an integer, got {text!r}", field=name)
    return int(text)


__all__ = [
    "YAML",
    "document_object",
    "json_body",
    "json_object",
    "optional_str",
    "path_int",
    "query_bool",
    "query_int",
    "required_str",
    "string_map",
    "strings",
]
