from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from flowql.app import STATE, create_app
from flowql.config import Config
from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import EngineConfig
from flowql.engine.store import Store
from flowql.storage.sqlite import SqliteStore
from tests.api.client import Api

FAST_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.01, max_interval=0.05)

ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(tmp_path: Any) -> AsyncIterator[ApiFactory]:
    """Starts the app on a real port (127.0.0.1, free port) with a fresh SQLite file."""
    servers: list[TestServer] = []
    sessions: list[aiohttp.ClientSession] = []

    async def create(
        *, store: Store | None = None, token: str | None = None, queue_size: int = 1024, **config: Any
    ) -> Api:
        config.setdefault("store", f"sqlite:///{tmp_path / f'api{len(servers)}.db'}")
        config.setdefault("run_timeout", 5.0)
        cfg = Config(**config)
        app = create_app(
            cfg,
            store=store if store is not None else SqliteStore(cfg.store.removeprefix("sqlite:///")),
            engine_config=EngineConfig(
                retry=FAST_RETRY, run_timeout=cfg.run_timeout, subscriber_queue_size=queue_size
            ),
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        session = aiohttp.ClientSession()
        sessions.append(session)
        return Api(
            url=server.make_url("/"), session=session, app_state=app[STATE], token=token, server=server
        )

    yield create
    for session in sessions:
        await session.close()
    for server in servers:
        await server.close()


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api()
