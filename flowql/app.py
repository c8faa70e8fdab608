"""The aiohttp application: GraphQL at /graphql, health, metrics, REST, status page.

Start-up opens the store, starts the engine (which resumes unfinished instances) and the
NATS consumer when configured; shutdown closes WebSockets (clients reconnect and replay),
stops the consumer and the engine, then closes the store. Instances left RUNNING resume on
the next start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import Engine, EngineConfig
from flowql.engine.store import Store
from flowql.resolvers import create_schema
from flowql.rest import setup_rest
from flowql.schema import ApiLimits

from .auth import Authenticator, refusal
from .config import READ, Config
from .cors import cors_middleware
from .guards import setup_guards
from .host_lock import HostLock
from .link_fetch import HttpLinks
from .metrics import Metrics
from .persisted import PersistedQueries, load_manifest
from .scope_check import ScopeCheck
from .status_page import setup_status_page
from .stores import create_store, lease_store, open_store, single_host_file, store_kind, store_reachable
from .view import WEBSOCKET, FlowqlView, ViewSettings

log = logging.getLogger(__name__)


@dataclass(eq=False)
class AppState:
    config: Config
    store: Store
    engine: Engine
    view: FlowqlView
    metrics: Metrics
    authenticator: Authenticator
    ready: bool = False
    stopping: bool = False
    nats: Any = None
    sqlite_file: str | None = None
    """The SQLite file this process must hold alone (None: MongoDB, `:memory:`, or a store
    handed in by the caller)."""


STATE = web.AppKey("flowql.state", AppState)
READY_PROBE_TIMEOUT = 2.0
"""Seconds /readyz waits for the store to answer."""


def create_app(
    config: Config | None = None,
    *,
    store: Store | None = None,
    engine_config: EngineConfig | None = None,
) -> web.Application:
    """Build the application; nothing is opened until aiohttp starts it."""
    config = config or Config()
    sqlite_file = None
    if store is None:
        store = create_store(config.store, timeout=config.store_timeout)
        sqlite_file = single_host_file(config.store)
    engine_config = engine_config or EngineConfig(
        run_timeout=config.run_timeout,
        retry=RetryPolicy(max_attempts=config.max_attempts),
        node_id=config.node_id,
        lease_ttl=config.lease_ttl,
    )
    driver_retry = replace(engine_config.driver_retry, max_failures=config.max_driver_failures)
    links = HttpLinks(config.link_origins) if config.link_origins else None
    engine = Engine(
        store,
        replace(engine_config, driver_retry=driver_retry),
        leases=lease_store(store),
        link_fetcher=links,
    )
    metrics = Metrics()
    metrics.attach(engine)
    limits = ApiLimits(
        max_page_size=config.max_page_size,
        max_depth=config.max_depth,
        max_tokens=config.max_tokens,
        max_aliases=config.max_aliases,
        max_selections=config.max_selections,
        max_cost=config.max_cost,
        run_wait_timeout=config.run_timeout,
    )
    authenticator = Authenticator(config.auth_tokens)
    trusted = load_manifest(config.trusted_documents) if config.trusted_documents else None
    persisted = PersistedQueries(cache_size=config.apq_cache_size, trusted=trusted)
    view = FlowqlView(
        create_schema(limits, extensions=[ScopeCheck, *([persisted.extension()] if trusted else [])]),
        persisted=persisted,
        engine=engine,
        authenticator=authenticator,
        metrics=metrics,
        settings=ViewSettings(
            limits=limits,
            store_name=store_kind(config.store),
            heartbeat=config.ws_heartbeat,
            max_response_bytes=config.max_response_bytes,
            outbound_limit=config.ws_outbound_limit,
            pong_timeout=config.ws_pong_timeout,
            fanout_linger=config.ws_fanout_linger,
            ws_init_timeout=config.ws_init_timeout,
            max_websockets=config.max_websockets,
            max_subscriptions=config.max_subscriptions,
            max_subscriptions_per_token=config.max_subscriptions_per_token,
            allowed_origins=config.cors_origins,
        ),
    )
    metrics.attach_fanout(view.fanout)
    state = AppState(
        config=config,
        store=store,
        engine=engine,
        view=view,
        metrics=metrics,
        authenticator=authenticator,
        sqlite_file=sqlite_file,
    )

    # CORS inside the guards (a preflight too must name a served host) and outside REST's error
    # mapping and scope checks (error answers carry the header; preflights need no token).
    app = web.Application(middlewares=[_latency_middleware(metrics), cors_middleware(config.cors_origins)])
    app[STATE] = state
    app.router.add_route("*", "/graphql", view, name="graphql")
    app.router.add_get("/healthz", _healthz, name="healthz")
    app.router.add_get("/readyz", _readyz, name="readyz")
    app.router.add_get("/metrics", _metrics, name="metrics")
    setup_rest(
        app,
        engine,
        authenticator=authenticator if authenticator.enabled else None,
        max_page_size=config.rest_max_page_size,
    )
    setup_status_page(app)
    setup_guards(app, bind_host=config.host, allowed_hosts=config.allowed_hosts)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_on_shutdown)
    if links is not None:

        async def close_links(_: web.Application) -> None:
            await links.close()

        app.on_cleanup.append(close_links)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    lock = None
    if state.sqlite_file and Path(state.sqlite_file).parent.is_dir():  # else open_store says why
        lock = HostLock.acquire(state.sqlite_file, node_id=state.config.node_id)
    try:
        async with _opened(state):
            yield
    finally:
        if lock is not None:
            lock.release()


@asynccontextmanager
async def _opened(state: AppState) -> AsyncIterator[None]:
    await open_store(state.store, state.config.store, timeout=state.config.store_timeout)
    events_out: Any = None
    try:
        if state.config.nats_url:
            state.store.enable_outbox()  # before the engine resumes anything
        resumed = await state.engine.start()
        if state.config.nats_url:
            events_out = await _start_events_out(state)
            state.nats = await _start_nats(state)
        state.ready = True
        log.info("flowql ready", extra={"store": store_kind(state.config.store), "resumed": resumed})
        yield
    finally:
        state.ready = False
        if state.nats is not None:
            await state.nats.stop()
        await state.engine.stop()
        if events_out is not None:
            await events_out.stop()
        await state.store.close()
        log.info("flowql stopped")


async def _start_events_out(state: AppState) -> Any:
    from flowql.nats_events import NatsEventsOut

    assert state.config.nats_url is not None
    events = NatsEventsOut(state.config.nats_url, state.config.events_subject, state.engine)
    await events.start()
    return events


async def _start_nats(state: AppState) -> Any:
    from flowql.nats_consumer import NatsEventConsumer

    assert state.config.nats_url is not None
    consumer = NatsEventConsumer(
        state.config.nats_url, state.config.nats_subject, state.engine.triggers, metrics=state.metrics
    )
    await consumer.start()
    return consumer


async def _on_shutdown(app: web.Application) -> None:
    state = app[STATE]
    state.stopping = True
    await state.view.close_websockets()


async def _healthz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response(
        {"status": "ok" if state.ready else "starting"}, status=200 if state.ready else 503
    )


async def _readyz(request: web.Request) -> web.Response:
    """Ready when started, not stopping, the store answering, and (on a shared store) the
    lease record renewed within its TTL: a replica that cannot renew will soon be taken over
    and should get no traffic."""
    state = request.app[STATE]
    store_up = state.engine.executor.store_available
    ready = state.ready and not state.stopping and store_up
    if ready:
        status = "ready"
    elif state.stopping:
        status = "stopping"
    else:
        status = "starting" if not state.ready else "store unavailable"
    if ready and not await store_reachable(
        state.store, timeout=min(READY_PROBE_TIMEOUT, state.config.store_timeout)
    ):
        ready, status = False, "store unavailable"
    body: dict[str, Any] = {"status": status}
    cluster = state.engine.cluster
    if cluster is not None:
        keeper = cluster.keeper
        healthy = keeper.healthy()
        body["lease"] = {
            "owner": keeper.owner,
            "healthy": healthy,
            "ttl": keeper.lease_ttl,
            "renewedAt": keeper.renewed_at.isoformat() if keeper.renewed_at else None,
            "liveReplicas": keeper.live_replicas,
        }
        if ready and not healthy:
            ready, body["status"] = False, "lease-expired"
    return web.json_response(body, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.config.metrics_public:
        refused = refusal(state.authenticator.grant(request.headers.get("Authorization")), READ)
        if refused is not None:
            status = 401 if refused.code.value == "UNAUTHENTICATED" else 403
            headers = {"WWW-Authenticate": 'Bearer realm="flowql"'} if status == 401 else {}
            return web.Response(status=status, text=refused.message + "\n", headers=headers)
    body, content_type = await state.metrics.render(state.engine)
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


def _latency_middleware(metrics: Metrics) -> Middleware:
    @web.middleware
    async def latency(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            if not request.get(WEBSOCKET):
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
                metrics.request_latency.labels(request.method, route, str(status)).observe(
                    time.perf_counter() - started
                )

    return latency


__all__ = ["STATE", "AppState", "create_app"]
