"""`make_api` / `api`: the real app on a free port; `rest_server` (rest_server.py) for the SDK.

Both run on SQLite, and also on the MongoDB server (FerretDB, or FLOWQL_TEST_MONGODB_URI) in
the modules marked `pytestmark = pytest.mark.both_stores`: the ones whose answers come from
the store — GraphQL queries, mutations, errors (VALIDATION / NOT_FOUND / CONFLICT), paging,
subscriptions and every example operation (test_graphql_queries, test_graphql_errors,
test_graphql_subscriptions, test_operations, test_gateway, test_smoke), and every REST
workflow, instance, trigger, paging and error path (test_rest_workflows, test_rest_pagination,
test_rest_triggers, test_rest_errors). The others check what the HTTP/GraphQL layer does
before any store call (auth, limits, hostile documents, transport refusals, compression, the
SDL, schemathesis against the OpenAPI documents) and run on SQLite only, to keep CI short.
"""

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
from flowql.stores import create_store
from tests.api.client import Api
from tests.support.stores import StoreUris

FAST_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.01, max_interval=0.05)

ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(store_uris: StoreUris) -> AsyncIterator[ApiFactory]:
    """Starts the app on a real port (127.0.0.1, free port) with a fresh store: a SQLite
    file, and in modules marked `both_stores` a MongoDB database on the session's server."""
    servers: list[TestServer] = []
    sessions: list[aiohttp.ClientSession] = []

    async def create(
        *, store: Store | str | None = None, token: str | None = None, queue_size: int = 1024, **config: Any
    ) -> Api:
        """`store`: a Store to serve, or the URI of one (default: a fresh one)."""
        if isinstance(store, str):
            config["store"], store = store, None
        config.setdefault("store", store_uris.new())
        config.setdefault("run_timeout", 5.0)
        cfg = Config(**config)
        app = create_app(
            cfg,
            store=store if store is not None else create_store(cfg.store, timeout=cfg.store_timeout),
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
