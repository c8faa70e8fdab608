"""The executor never loops forever unseen, and cancel lands between stages (issue #14, 6-7).

Against the real app on a real port: a store proxy makes the driver fail where no activity
runs (reading the inbox), or makes the whole store unavailable for a while.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from flowql.storage.sqlite import SqliteStore
from tests.api.client import Api, collect
from tests.api.conftest import ApiFactory
from tests.api.store_proxy import StoreProxy

CREATE = "mutation C($s: [StageInput!]!) { createWorkflow(input: {stages: $s}) { id } }"
RUN = 'mutation R($w: ID!) { runWorkflow(workflowID: $w, variables: {user: "1"}) { id } }'
INSTANCE = """query I($id: ID!) { instance(id: $id) { status error
  stages { index status history { name attempt error nextExecution } } } }"""
SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:${user}"}},
        "amount": {"amount": "1", "asset": "USD/2"},
    }
}
BALANCE = 'query { account(address: "users:1") { balances { amount } } }'


async def start(api: Api, stages: list[dict[str, Any]]) -> str:
    flow = (await api.query(CREATE, {"s": stages}))["createWorkflow"]["id"]
    return str((await api.query(RUN, {"w": flow}))["runWorkflow"]["id"])


async def until(check: Any, timeout: float = 30.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := await check()):
            await asyncio.sleep(0.05)
    return value


async def metric(api: Api, name: str) -> float:
    async with api.session.get(api.url / "metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


async def test_driver_failures_are_counted_and_bounded(make_api: ApiFactory, tmp_path: Path) -> None:
    proxy = StoreProxy(SqliteStore(str(tmp_path / "bounds.db")))
    api = await make_api(store=proxy, max_driver_failures=3)
    instance_id = await start(api, [{"wait_event": {"event": "go"}}])
    async with api.ws() as session:
        watch = asyncio.create_task(
            collect(
                session,
                "subscription S($id: ID!) { stageTransitions(instanceID: $id) { status "
                "instanceStatus error } }",
                {"id": instance_id},
            )
        )
        await asyncio.sleep(0.2)
        proxy.failures["list_inbox"] = RuntimeError("a bug in the engine")  # no activity runs there
        assert (
            await api.query(
                'mutation S($id: ID!) { sendEvent(instanceID: $id, name: "go") { id } }', {"id": instance_id}
            )
        )["sendEvent"]

        async def failed() -> dict[str, Any] | None:
            found = (await api.query(INSTANCE, {"id": instance_id}))["instance"]
            return found if found["status"] != "RUNNING" else None

        instance = await until(failed)
        transitions = await asyncio.wait_for(watch, 10)
    assert instance["status"] == "FAILED"
    assert instance["error"].startswith("INTERNAL")
    failures = [a for a in instance["stages"][0]["history"] if a["name"] == "DriverFailure"]
    assert [a["attempt"] for a in failures] == [1, 2, 3]
    assert failures[0]["nextExecution"] and failures[-1]["nextExecution"] is None
    assert "a bug in the engine" not in str(instance)  # the detail stays in the server log
    assert transitions[-1]["stageTransitions"]["instanceStatus"] == "FAILED"
    assert await metric(api, "flowql_driver_failures") == 3


async def test_a_store_outage_is_retried_and_visible(make_api: ApiFactory, tmp_path: Path) -> None:
    proxy = StoreProxy(SqliteStore(str(tmp_path / "outage.db")))
    api = await make_api(store=proxy)
    instance_id = await start(api, [{"delay": {"duration": "300ms"}}, {"wait_event": {"event": "go"}}])
    outage = ConnectionError("store unreachable")
    for method in ("get_instance", "save_instance", "list_inbox", "due_instances", "count_instances"):
        proxy.failures[method] = outage

    async def not_ready() -> bool:
        async with api.session.get(api.url / "readyz") as response:
            return response.status == 503

    await until(not_ready)
    assert await metric(api, "flowql_store_available") == 0
    proxy.failures.clear()

    async def waiting() -> bool:
        found = (await api.query(INSTANCE, {"id": instance_id}))["instance"]
        return len(found["stages"]) == 2 and found["status"] == "RUNNING"

    await until(waiting)
    async with api.session.get(api.url / "readyz") as response:
        assert response.status == 200
    assert await metric(api, "flowql_store_available") == 1
    assert await metric(api, "flowql_driver_failures") == 0


async def test_cancel_lands_between_two_sends(make_api: ApiFactory) -> None:
    api = await make_api()
    instance_id = await start(api, [SEND] * 300)

    async def posted() -> int:
        balances = (await api.query(BALANCE))["account"]["balances"]
        return int(balances[0]["amount"]) if balances else 0

    await until(lambda: _at_least(posted, 20))
    mutation = "mutation X($id: ID!) { cancelInstance(id: $id) { status } }"
    cancelled = await api.query(mutation, {"id": instance_id})
    assert cancelled["cancelInstance"]["status"] == "CANCELLED", (cancelled, await posted())
    at_cancel = await posted()
    await asyncio.sleep(0.5)
    assert await posted() == at_cancel < 300
    instance = (await api.query(INSTANCE, {"id": instance_id}))["instance"]
    assert instance["status"] == "CANCELLED"
    # Cancelled between two stages: the last one reached finished (its posting happened).
    assert instance["stages"][-1]["status"] in {"SUCCEEDED", "CANCELLED"}
    assert len(instance["stages"]) in {at_cancel, at_cancel + 1}


async def _at_least(read: Any, n: int) -> bool:
    return bool(await read() >= n)


async def test_expansion_and_variables_are_bounded(make_api: ApiFactory) -> None:
    api = await make_api()
    # 200 x a 500-byte variable: 100 KB (a metadata value: names are refused over 256 at once)
    bomb = {"update": {"account": {"id": "users:1", "metadata": {"note": "${x}" * 200}}}}
    flow = (await api.query(CREATE, {"s": [bomb]}))["createWorkflow"]["id"]
    run = "mutation R($w: ID!, $v: JSON) { runWorkflow(workflowID: $w, variables: $v) { id } }"
    instance_id = (await api.query(run, {"w": flow, "v": {"x": "a" * 500}}))["runWorkflow"]["id"]

    async def finished() -> dict[str, Any] | None:
        found = (await api.query(INSTANCE, {"id": instance_id}))["instance"]
        return found if found["status"] != "RUNNING" else None

    instance = await until(finished)
    assert instance["status"] == "FAILED"
    assert instance["error"].startswith("VALIDATION") and "after ${} expansion" in instance["error"]
    too_long = await api.error(run, {"w": flow, "v": {"x": "a" * 5000}})
    assert too_long["extensions"]["code"] == "VALIDATION"
    assert "at most 4096 characters" in too_long["message"]
