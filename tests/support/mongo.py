"""MongoDB stores for tests: each on a fresh database of its own, dropped afterwards.

`open_mongo_store(uri)` opens a MongoStore on a database named `flowql_test_<random>` on the
server at `uri` (the `mongodb_uri` session fixture: a FerretDB the tests started, or
`FLOWQL_TEST_MONGODB_URI`); with `uri=None` it runs on mongomock in-process
(`tests.support.mongomock_async`), the fast layer. `fresh_database_uri(uri)` gives a URI
naming such a database, for a `flowql serve` child process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flowql.storage import names
from flowql.storage.mongo import MongoStore

from .mongomock_async import AsyncDatabase


def database_name(prefix: str = "flowql_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def with_database(uri: str, name: str) -> str:
    return urlunsplit(urlsplit(uri)._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh_database_uri(uri: str, prefix: str = "flowql_test") -> AsyncIterator[str]:
    """`uri` naming a new database, dropped when the block exits."""
    from pymongo import AsyncMongoClient

    name = database_name(prefix)
    try:
        yield with_database(uri, name)
    finally:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
        try:
            await client.drop_database(name)
        finally:
            await client.close()


@asynccontextmanager
async def open_mongo_store(uri: str | None) -> AsyncIterator[MongoStore]:
    if uri is None:
        store = MongoStore(database=AsyncDatabase())  # type: ignore[arg-type]
        await store.open()
        try:
            yield store
        finally:
            await store.close()
        return
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    name = database_name()
    try:
        store = MongoStore(database=client[name])
        await store.open()
        yield store
        await store.close()
    finally:
        await client.drop_database(name)
        await client.close()


async def abandon_claim(store: MongoStore, ident: str, doc: dict[str, Any], claimed_at: datetime) -> None:
    """What a writer killed between its claim `ident` (`kind/key@version`) of `doc` and its
    write leaves: its draft and its claim (storage/mongo/versions.py)."""
    draft_id = f"{ident}#dead"
    await store.database[names.DRAFTS].insert_one({"_id": draft_id, "doc": doc | {"draft": draft_id}})
    claim = {"_id": ident, "draft": draft_id, "claimed_at": claimed_at}
    await store.database[names.VERSIONS].insert_one(claim)
