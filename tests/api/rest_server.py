"""A flowql server on a free port in a background thread, for the REST contract tests.

The Formance SDK's client is synchronous (httpx), so the server runs its own event loop
in a thread; tests call the SDK directly and reach the engine through `server.run(...)`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web
from formance_sdk_python import SDK
from formance_sdk_python.models import orchestration
from formance_sdk_python.models.errors import SDKBaseError

from flowql.app import STATE, create_app
from flowql.config import AuthToken, Config
from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import Engine, EngineConfig
from tests.support.stores import StoreUris

T = TypeVar("T")
FAST_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.01, max_interval=0.05)


@dataclass
class RestServer:
    url: str
    engine: Engine
    app: web.Application
    loop: asyncio.AbstractEventLoop

    def run(self, work: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
        """Run `work()` on the server's loop and wait for its result."""

        async def call() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    def sdk(self, token: str | None = None) -> SDK:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return SDK(server_url=self.url, client=httpx.Client(headers=headers, timeout=15.0))


def flowql_app(
    run_timeout: float = 5.0, auth_tokens: tuple[AuthToken, ...] = (), store: str = "sqlite:///:memory:"
) -> web.Application:
    """The real application (`flowql serve`'s), on an in-memory SQLite store by default."""
    return create_app(
        Config(store=store, run_timeout=run_timeout, auth_tokens=auth_tokens),
        engine_config=EngineConfig(retry=FAST_RETRY, run_timeout=run_timeout),
    )


@contextmanager
def serve(build: Callable[[], web.Application]) -> Iterator[RestServer]:
    """Run the app `build()` makes on a free port, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    runner: web.AppRunner | None = None

    async def start() -> RestServer:
        nonlocal runner
        app = build()
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return RestServer(url=f"http://{host}:{port}", engine=app[STATE].engine, app=app, loop=loop)

    thread = threading.Thread(target=loop.run_forever, name="rest-server", daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(15)
    finally:
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        loop.close()


@pytest.fixture
def rest_server(store_uris: StoreUris) -> Iterator[RestServer]:
    """The app on a fresh store (both backends in modules marked `both_stores`)."""
    uri = "sqlite:///:memory:" if store_uris.kind == "sqlite" else store_uris.new()
    with serve(lambda: flowql_app(store=uri)) as server:
        yield server


META_FIELDS = frozenset({"content_type", "status_code", "raw_response"})


def body(response: object) -> Any:
    """The parsed body of an SDK response, whatever the operation names its field
    (`get_workflow_response` in v1, `v2_get_workflow_response` in v2...)."""
    fields = type(response).model_fields  # type: ignore[attr-defined]
    names = [name for name in fields if name not in META_FIELDS]
    assert len(names) == 1, names
    return getattr(response, names[0])


def api(sdk: SDK, version: int) -> Any:
    """`sdk.orchestration.v1` or `.v2`: the same method names, so tests run against both."""
    return sdk.orchestration.v1 if version == 1 else sdk.orchestration.v2


def error_type(version: int) -> type[SDKBaseError]:
    return orchestration.Error if version == 1 else orchestration.V2Error


def listed(client: Any, version: int, operation: str, **query: Any) -> list[Any]:
    """The items of a list operation: v1's `data`, or v2's first `cursor.data` page."""
    method = getattr(client, operation)
    bare = version == 1 and operation == "list_workflows"  # v1 takes no request at all
    response = method() if bare else method(request=query)
    parsed = body(response)
    return list(parsed.data if version == 1 else parsed.cursor.data)
