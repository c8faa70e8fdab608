"""JSON encoding with raw fragments, for bodies Python's `json.dumps` will not write.

`Raw("NaN")`, `Raw("1e400")`, a 5,000-digit integer, or 100,000 nested brackets are
legal or near-legal JSON text that a hostile client can send but `json.dumps` refuses
(or recurses on). A `Raw` leaf is written verbatim in place of a placeholder string.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Raw:
    """A JSON fragment written as is."""

    text: str
    label: str = ""

    def __repr__(self) -> str:
        shown = self.label or (
            self.text if len(self.text) <= 40 else f"{self.text[:30]}...({len(self.text)})"
        )
        return f"Raw({shown})"


def nested(depth: int, *, kind: str = "object", leaf: str = "1") -> Raw:
    """`depth` levels of `{"a": ...}` or `[...]` around `leaf`."""
    opening, closing = ('{"a":', "}") if kind == "object" else ("[", "]")
    return Raw(opening * depth + leaf + closing * depth, label=f"{kind} nested {depth} deep")


def dumps(value: object) -> str:
    """`value` as JSON text (ASCII, so lone surrogates become `\\udXXX` escapes)."""
    raws: dict[str, str] = {}

    def swap(item: object) -> object:
        if isinstance(item, Raw):
            token = f"@raw-{uuid.uuid4().hex}@"
            raws[token] = item.text
            return token
        if isinstance(item, dict):
            return {str(k): swap(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [swap(v) for v in item]
        return item

    text = json.dumps(swap(value))
    for token, raw in raws.items():
        text = text.replace(f'"{token}"', raw, 1)
    return text


__all__ = ["Raw", "dumps", "nested"]
