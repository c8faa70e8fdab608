"""A MongoDB store that goes away mid-run: requests answer UNAVAILABLE (HTTP 503) and
/readyz 503 until it is back; then everything resumes without a restart, nothing lost.

The test starts a FerretDB of its own (tests/support/services.py) so that stopping it
disturbs no other test, stops it (SIGTERM) while an instance sleeps in a delay stage, and
starts it again on the same port and data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.client import Api
from tests.api.conftest import ApiFactory
from tests.api.flows import INSTANCE, create_workflow, run, send
from tests.support import services


@pytest.fixture
def ferretdb(tmp_path: Path) -> Iterator[services.Service]:
    try:
        with services.ferretdb(tmp_path / "ferretdb") as server:
            yield server
    except services.ServiceMissing as missing:
        if services.in_ci():
            pytest.fail(f"CI=true: {missing}", pytrace=False)
        pytest.skip(str(missing))


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)


async def status(api: Api, path: str) -> int:
    async with api.session.get(api.url / path) as response:
        return response.status


async def graphql(api: Api, query: str) -> tuple[int, dict[str, Any]]:
    async with api.session.post(api.url / "graphql", json={"query": query}) as response:
        return response.status, await response.json()


async def test_outage_answers_503_then_everything_resumes(
    ferretdb: services.Service, make_api: ApiFactory
) -> None:
    # `ferretdb` first: set up before the app and stopped after it.
    api = await make_api(store=f"{ferretdb.url}flowql_outage", store_timeout=2.0)
    stages = [{"delay": {"duration": "1500ms"}}, {"wait_event": {"event": "go"}}]
    workflow = await create_workflow(api, stages)
    sleeping = await run(api, workflow)
    assert await status(api, "readyz") == 200

    await asyncio.to_thread(ferretdb.stop)
    code, body = await graphql(api, "{ workflows(first: 5) { edges { node { id } } } }")
    assert code == 503, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]
    assert "Traceback" not in str(body) and "pymongo" not in str(body)
    async with api.session.get(api.url / "api/orchestration/v2/workflows") as response:
        assert response.status == 503
        assert (await response.json())["errorCode"] == "INTERNAL"
    assert await status(api, "readyz") == 503
    await asyncio.sleep(2.0)  # the delay falls due while the store is away

    await asyncio.to_thread(ferretdb.restart)

    async def ready() -> bool:
        return await status(api, "readyz") == 200

    await until(ready)
    listed = await api.query("{ workflows(first: 5) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["workflows"]["edges"]] == [workflow]

    async def waiting() -> bool:
        found = (await api.query(INSTANCE, {"id": sleeping["id"]}))["instance"]
        return len(found["stages"]) == 2 and found["stages"][1]["status"] == "WAITING"

    await until(waiting)  # the delay finished after the outage, without a restart
    await send(api, sleeping["id"])

    async def succeeded() -> bool:
        return (await api.query(INSTANCE, {"id": sleeping["id"]}))["instance"]["status"] == "SUCCEEDED"

    await until(succeeded)
    assert (await run(api, workflow))["status"] == "RUNNING", "new runs start again"
