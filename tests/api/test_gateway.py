"""The process shell around GraphQL: health, metrics, GraphiQL, static assets, REST."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from flowql.stores import create_store
from tests.api.client import Api, collect
from tests.api.conftest import ApiFactory
from tests.api.flows import TRANSITIONS, create_workflow, run, send_stage
from tests.support.stores import StoreUris

pytestmark = pytest.mark.both_stores


async def test_health_and_readiness(api: Api) -> None:
    for path in ("healthz", "readyz"):
        async with api.session.get(api.url / path) as resp:
            assert resp.status == 200, path
    api.app_state.stopping = True  # what shutdown sets before closing connections
    async with api.session.get(api.url / "readyz") as resp:
        assert resp.status == 503 and (await resp.json())["status"] == "stopping"
    async with api.session.get(api.url / "healthz") as resp:
        assert resp.status == 200


async def test_metrics(api: Api) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    instance = await run(api, workflow, wait=True)
    async with api.ws() as session:
        await collect(session, TRANSITIONS, {"id": instance["id"]})
        async with api.session.get(api.url / "metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
    assert 'flowql_stage_transitions_total{kind="send",status="SUCCEEDED"} 1.0' in text
    assert 'flowql_instances{status="SUCCEEDED"} 1.0' in text
    assert 'flowql_instances{status="RUNNING"} 0.0' in text
    assert re.search(
        r'flowql_http_request_duration_seconds_count\{method="POST",route="/graphql",status="200"\} \d', text
    )
    assert "flowql_websocket_connections_open 1.0" in text
    assert "flowql_subscriptions_open" in text


async def test_graphiql_is_served_offline(api: Api) -> None:
    async with api.session.get(api.url / "graphql", headers={"Accept": "text/html"}) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    sources = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert "/static/vendor/graphiql.min.js" in sources and "/static/vendor/react.production.min.js" in sources
    for source in sources:
        async with api.session.get(api.url.with_path(source)) as asset:
            assert asset.status == 200, source
            assert len(await asset.read()) > 0


async def test_get_query_without_html(api: Api) -> None:
    async with api.session.get(api.url / "graphql", params={"query": "{ serverInfo { version } }"}) as resp:
        assert resp.status == 200
        assert (await resp.json())["data"]["serverInfo"]["version"]


async def test_status_page_and_rest_are_mounted(api: Api) -> None:
    async with api.session.get(api.url) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
    async with api.session.get(api.url / "api/orchestration/v2/workflows") as resp:
        assert resp.status == 200


async def test_shutdown_closes_subscriptions_and_keeps_instances(
    make_api: ApiFactory, store_uris: StoreUris
) -> None:
    """Shutdown closes open WebSockets (1001), stops the engine, closes the store; the
    waiting instance is still RUNNING in the store for the next start."""
    uri = store_uris.new()
    api = await make_api(store=create_store(uri))
    workflow = await create_workflow(api, [{"wait_event": {"event": "never"}}])
    instance = await run(api, workflow)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(api.ws_url, protocols=["graphql-transport-ws"])
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": TRANSITIONS, "variables": {"id": instance["id"]}},
            }
        )
        assert (await ws.receive_json())["type"] == "next"

        async def until_closed() -> list[aiohttp.WSMsgType]:
            kinds = []
            async for message in ws:  # answers the server's close frame
                kinds.append(message.type)
            return kinds

        reader = asyncio.create_task(until_closed())
        await asyncio.wait_for(api.server.close(), 10)
        await asyncio.wait_for(reader, 5)
        assert ws.close_code == 1001, ws.close_code
    reopened = create_store(uri)
    await reopened.open()
    try:
        stored = await reopened.get_instance(instance["id"])
        assert stored is not None and stored.status.value == "RUNNING"
    finally:
        await reopened.close()
