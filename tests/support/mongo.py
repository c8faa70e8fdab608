"""`open_mongo_store()`: an opened MongoStore on a real server or on mongomock.

With `FLOWQL_TEST_MONGODB_URI` set (e.g. `mongodb://localhost:27017`), each store gets a
fresh database named `flowql_test_<random>` on that server, dropped afterwards. Without it,
the store runs on mongomock through `tests.support.mongomock_async`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from flowql.storage.mongo import MongoStore

from .mongomock_async import AsyncDatabase

URI_VARIABLE = "FLOWQL_TEST_MONGODB_URI"


def real_server_uri() -> str | None:
    return os.environ.get(URI_VARIABLE) or None


@asynccontextmanager
async def open_mongo_store() -> AsyncIterator[MongoStore]:
    uri = real_server_uri()
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
    name = f"flowql_test_{uuid.uuid4().hex[:16]}"
    try:
        store = MongoStore(database=client[name])
        await store.open()
        yield store
        await store.close()
    finally:
        await client.drop_database(name)
        await client.close()
