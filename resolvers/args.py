"""Argument parsing shared by the root resolvers: JSON inputs into engine shapes."""

from __future__ import annotations

from typing import Any

from flowql.engine.errors import validation


def json_object(value: object, *, field: str) -> dict[str, Any]:
    """A JSON argument that must be an object (None: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise validation(f"{field}: must be a JSON object", field=field)
    return value


def string_map(value: object, *, field: str) -> dict[str, str]:
    """A JSON object whose values are all strings (metadata, trigger vars)."""
    checked: dict[str, str] = {}
    for key, item in json_object(value, field=field).items():
        if not isinstance(item, str):
            raise validation(f"{field}.{key}: must be a string", field=f"{field}.{key}")
        checked[key] = item
    return checked


__all__ = ["json_object", "string_map"]
