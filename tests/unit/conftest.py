from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import Engine, EngineConfig
from flowql.storage.sqlite import SqliteStore
from flowql.stores import create_store
from tests.support.stores import StoreUris

FAST_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.01, max_interval=0.05)

EngineFactory = Callable[..., Awaitable[Engine]]


@pytest.fixture
async def make_engine(store_uris: StoreUris) -> AsyncIterator[EngineFactory]:
    """Builds started engines on one store (a SQLite file; also a MongoDB database in modules
    marked `both_stores`); a second call reopens the same store. `path` names a SQLite file."""
    engines: list[Engine] = []
    default = store_uris.new()

    async def create(*, retry: RetryPolicy = FAST_RETRY, path: Path | None = None, **kw: object) -> Engine:
        store = SqliteStore(str(path)) if path is not None else create_store(default)
        await store.open()
        engine = Engine(store, EngineConfig(retry=retry, run_timeout=5.0), **kw)  # type: ignore[arg-type]
        await engine.start()
        engines.append(engine)
        return engine

    yield create
    for engine in engines:
        await stop(engine)


async def stop(engine: Engine) -> None:
    await engine.stop()
    await engine.store.close()


@pytest.fixture
async def engine(make_engine: EngineFactory) -> Engine:
    return await make_engine()
