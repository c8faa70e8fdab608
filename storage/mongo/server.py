"""What the store adapts to in the server it talks to, found out once by `open()`.

FerretDB 1.24 on SQLite evaluates every filter but one by reading the whole collection: it
hands SQLite a `WHERE` only for a filter that is exactly `{_id: <string or ObjectId>}`
(`internal/backends/sqlite/collection.go`, `Query`); `{_id, version}` or `{_id, $exists}`
decode every document of the collection in Go. A compare-and-set `replace_one({_id: k,
version: v})` cost 57 ms at 200 instances and grows with the collection. Its filtered
writes are a read then a write anyway (not atomic, see `versions`), so on such a server the
store reads by `_id`, checks the condition itself and writes by `_id`, which is what the
server would have done, one round trip apart; `versions` then checks that no newer version
was claimed meanwhile. MongoDB keeps its filtered, atomic writes. (Even that `WHERE` is a
scan in SQLite, cheaper than decoding in Go: FerretDB's `_id` index is on the expression
`->"_id"`, its queries say `->'$._id'`; see docs/mongodb.md.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.asynchronous.database import AsyncDatabase

    from .codec import Doc


@dataclass
class Server:
    id_filters_only: bool = False
    """Only `{_id: value}` filters are indexed: conditional writes are checked by the store."""


async def detect(database: AsyncDatabase[Doc], server: Server) -> None:
    """FerretDB answers `buildInfo` with its own `ferretdbVersion` besides MongoDB's fields."""
    info = await database.command("buildInfo")
    server.id_filters_only = "ferretdbVersion" in info


async def soft_delete(collection: AsyncCollection[Doc], key: str, changes: Doc, server: Server) -> bool:
    """Set `changes` (with `deleted_at`) on the live document `key`; False when it is missing or
    deleted already. Read first, so a refused delete sends the server no write at all."""
    doc = await collection.find_one({"_id": key}, {"deleted_at": 1})
    if doc is None or doc.get("deleted_at") is not None:
        return False
    query = {"_id": key} if server.id_filters_only else {"_id": key, "deleted_at": None}
    result = await collection.update_one(query, {"$set": changes})
    return result.modified_count == 1
