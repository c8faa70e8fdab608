"""One `store` fixture, parametrized over every backend: the same contract for each.

`sqlite` runs in memory; `mongodb` on a real server over the wire protocol (the FerretDB
the session started, or `FLOWQL_TEST_MONGODB_URI`); `mongomock` is the in-process fast
layer, kept because it costs seconds and catches what a lenient mock lets through
differently from a server (tests/support/mongo.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowql.engine.store import Store
from flowql.storage.mongo import MongoStore
from flowql.storage.sqlite import SqliteStore
from tests.support.mongo import open_mongo_store


@pytest.fixture(params=["sqlite", "mongodb", "mongomock"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        sqlite = SqliteStore(":memory:")
        await sqlite.open()
        try:
            yield sqlite
        finally:
            await sqlite.close()
        return
    uri = request.getfixturevalue("mongodb_uri") if request.param == "mongodb" else None
    async with open_mongo_store(uri) as mongo:
        yield mongo


@pytest.fixture(params=["mongodb", "mongomock"])
async def mongo(request: pytest.FixtureRequest) -> AsyncIterator[MongoStore]:
    """The MongoDB store alone (test_mongo_specific.py)."""
    uri = request.getfixturevalue("mongodb_uri") if request.param == "mongodb" else None
    async with open_mongo_store(uri) as store:
        yield store
