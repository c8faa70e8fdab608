"""Domain models to BSON documents and back, for the MongoDB store.

A model is stored as its own fields (`id` becomes `_id`) plus `schema_version` and any
fields the store needs for indexes. Values go through a reversible encoding that keeps any
JSON a user can send storable:

- Integers beyond 64 bits (amounts in stage specs, event payloads) become `{"%int": "digits"}`;
  BSON has no wider integer. Ledger amounts and balances are decimal strings instead (the
  ledger reads them back itself).
- Keys are escaped: `%` -> `%25`, `.` -> `%2E`, NUL -> `%00` and a leading `$` -> `%24`, so a
  metadata key such as `a.b` or `$x` never reads as a path or an operator (servers before 5.0
  refuse such names; later ones store them but cannot query or `$set` through them). The
  empty key becomes `%`. Since every `%` of a user's key is escaped, `%int` can only be the
  marker above.
- Datetimes are BSON dates (UTC, milliseconds) and come back as aware datetimes in
  `datetime.UTC`, whether the driver returns them naive (a client without `tz_aware=True`),
  with bson's `utc` or with mongomock's own `FixedOffset`.
- Enums are stored as their values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from bson import ObjectId
from pydantic import BaseModel

from flowql.engine.clock import truncate

from ..names import MONGO_SCHEMA_VERSION as SCHEMA_VERSION

Doc = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

BIG_INT = "%int"
EMPTY_KEY = "%"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ESCAPED = re.compile(r"%(25|2E|24|00)")


def escape_key(key: str) -> str:
    if not key:
        return EMPTY_KEY
    escaped = key.replace("%", "%25").replace(".", "%2E").replace("\x00", "%00")
    return "%24" + escaped[1:] if escaped.startswith("$") else escaped


def unescape_key(key: str) -> str:
    if key == EMPTY_KEY:
        return ""
    return _ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), key)


def encode(value: Any) -> Any:
    """A BSON-safe copy of `value` (see the module docstring)."""
    if isinstance(value, Enum):
        return encode(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str | float | ObjectId):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else {BIG_INT: str(value)}
    if isinstance(value, datetime):
        return truncate(value)
    if isinstance(value, dict):
        return {escape_key(str(key)): encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    raise TypeError(f"cannot store a {type(value).__name__} in MongoDB")


def decode(value: Any) -> Any:
    """The inverse of `encode`."""
    if isinstance(value, dict):
        if len(value) == 1 and BIG_INT in value:
            return int(value[BIG_INT])
        return {unescape_key(key): decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, datetime):
        return utc(value)
    return value


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_doc(model: BaseModel, *, id_field: str = "id", **extra: Any) -> Doc:
    """`model` as a document: `_id`, `schema_version`, its encoded fields and `extra`."""
    fields = model.model_dump(mode="python")
    doc: Doc = {"_id": fields.pop(id_field), "schema_version": SCHEMA_VERSION}
    doc.update({key: encode(value) for key, value in fields.items()})
    doc.update({key: encode(value) for key, value in extra.items()})
    return doc


def from_doc(model: type[M], doc: Doc, *, id_field: str = "id") -> M:
    """The model stored in `doc`, ignoring the store's own fields."""
    fields = {key: decode(value) for key, value in doc.items() if key in model.model_fields}
    fields[id_field] = doc["_id"]
    return model.model_validate(fields)


def encode_amounts(amounts: dict[str, int]) -> Doc:
    return {escape_key(asset): str(value) for asset, value in amounts.items()}


def decode_amounts(doc: Doc | None) -> dict[str, int]:
    return {unescape_key(asset): int(value) for asset, value in (doc or {}).items()}


def schema_fields() -> Doc:
    return {"schema_version": SCHEMA_VERSION}
