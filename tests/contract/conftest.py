"""One `store` fixture, parametrized over every backend: the same contract for each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowql.engine.store import Store
from flowql.storage.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        sqlite = SqliteStore(":memory:")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    try:
        from tests.support.mongo import open_mongo_store
    except ImportError as error:
        pytest.skip(f"MongoDB store not importable: {error}")
    async with open_mongo_store() as mongo:
        yield mongo
