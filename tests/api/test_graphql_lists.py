"""What a list screen needs, over real HTTP and WebSocket: instances filtered by status and
creation time, ledger lists (accounts, postings, wallets with balances) as connections, and
`instanceChanges` for live lists."""

from __future__ import annotations

import asyncio
from typing import Any

from gql import gql

from flowql.storage.sqlite import SqliteStore
from tests.api.client import Api
from tests.api.conftest import ApiFactory
from tests.api.flows import WAIT_GO, create_workflow, run, send, send_stage
from tests.api.store_proxy import StoreProxy

INSTANCES = """query($w: ID, $status: [InstanceStatus!], $since: DateTime, $until: DateTime, $first: Int,
  $after: String) { instances(workflowID: $w, status: $status, createdAfter: $since, createdBefore: $until,
  first: $first, after: $after) { nodes { id status createdAt } pageInfo { hasNextPage endCursor } } }"""
ACCOUNTS = """query($prefix: String, $first: Int, $after: String) {
  accounts(addressPrefix: $prefix, first: $first, after: $after) {
    nodes { id address balances { asset amount } } pageInfo { hasNextPage endCursor } } }"""
POSTINGS = """query($account: String, $instance: ID, $first: Int, $after: String) {
  postings(account: $account, instanceID: $instance, first: $first, after: $after) {
    nodes { reference source destination asset amount instanceID stage timestamp }
    pageInfo { hasNextPage endCursor } } }"""
WALLETS = """query($name: String, $first: Int) { wallets(name: $name, first: $first) {
  nodes { id name balances { name address assets { asset amount } } } pageInfo { hasNextPage } } }"""
CHANGES = "subscription($w: ID) { instanceChanges(workflowID: $w) { id workflowID status } }"


async def pages(api: Api, document: str, field: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a connection, read through its cursors."""
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(50):
        connection = (await api.query(document, {**variables, "after": after}))[field]
        nodes += connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("too many pages")


async def test_instances_filtered_by_status_and_creation_time(api: Api) -> None:
    waiting = await create_workflow(api, WAIT_GO)
    quick = await create_workflow(api, [send_stage(1)])
    made = [await run(api, waiting), await run(api, quick, wait=True), await run(api, waiting)]
    await api.query("mutation($id: ID!) { cancelInstance(id: $id) { id } }", {"id": made[2]["id"]})
    everything = (await api.query(INSTANCES, {"first": 10}))["instances"]["nodes"]
    assert [n["id"] for n in everything] == [m["id"] for m in reversed(made)]
    stamps = {n["id"]: n["createdAt"] for n in everything}

    async def ids(**variables: Any) -> list[str]:
        return [n["id"] for n in await pages(api, INSTANCES, "instances", {"first": 1, **variables})]

    assert await ids(status=["SUCCEEDED", "CANCELLED"]) == [made[2]["id"], made[1]["id"]]
    assert await ids(status=["RUNNING"], w=waiting) == [made[0]["id"]]
    assert await ids(status=[]) == []
    assert await ids(since=stamps[made[0]["id"]]) == [made[2]["id"], made[1]["id"]]
    assert await ids(until=stamps[made[2]["id"]], since=stamps[made[0]["id"]]) == [made[1]["id"]]
    error = await api.error(INSTANCES, {"status": ["DONE"]})
    assert error["extensions"]["code"] == "VALIDATION" and "DONE" in error["message"]
    error = await api.error(INSTANCES, {"since": "yesterday"})
    assert error["extensions"]["code"] == "VALIDATION"


async def test_accounts_and_postings_as_connections(api: Api) -> None:
    flow = await create_workflow(
        api, [send_stage(5, "users:1"), send_stage(7, "users:2"), send_stage(9, "shop:1")]
    )
    first = await run(api, flow, wait=True)
    second = await run(api, flow, wait=True)
    accounts = await pages(api, ACCOUNTS, "accounts", {"prefix": "users:", "first": 1})
    assert [(a["id"], a["balances"]) for a in accounts] == [
        ("users:1@default", [{"asset": "USD/2", "amount": "10"}]),
        ("users:2@default", [{"asset": "USD/2", "amount": "14"}]),
    ]
    everyone = await pages(api, ACCOUNTS, "accounts", {"first": 2})
    assert [a["address"] for a in everyone] == ["shop:1", "users:1", "users:2", "world"]

    postings = await pages(api, POSTINGS, "postings", {"first": 2})
    assert [(p["instanceID"], p["stage"]) for p in postings] == [
        (i, s) for i in (second["id"], first["id"]) for s in (2, 1, 0)
    ]
    of_first = await pages(api, POSTINGS, "postings", {"instance": first["id"], "first": 1})
    assert [p["reference"] for p in of_first] == [f"{first['id']}:{s}" for s in (2, 1, 0)]
    assert of_first[0] | {"timestamp": None} == {
        "reference": f"{first['id']}:2",
        "source": "world",
        "destination": "shop:1",
        "asset": "USD/2",
        "amount": "9",
        "instanceID": first["id"],
        "stage": 2,
        "timestamp": None,
    }
    to_user = await pages(api, POSTINGS, "postings", {"account": "users:2", "first": 5})
    assert [p["instanceID"] for p in to_user] == [second["id"], first["id"]]
    error = await api.error(POSTINGS, {"account": "not an address"})
    assert error["extensions"] == {"code": "VALIDATION", "field": "account"}
    error = await api.error(ACCOUNTS, {"prefix": "users %"})
    assert error["extensions"] == {"code": "VALIDATION", "field": "addressPrefix"}


async def test_wallets_with_their_balances_in_one_query_per_page(make_api: ApiFactory, tmp_path: Any) -> None:
    proxy = StoreProxy(SqliteStore(str(tmp_path / "wallets.db")))
    api = await make_api(store=proxy)
    for name in ("alice", "bob", "alicia"):
        await api.query("mutation($n: String!) { createWallet(name: $n) { id } }", {"n": name})
    spend = {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"wallet": {"name": "alice", "balance": "savings"}},
            "amount": {"amount": 30, "asset": "EUR/2"},
        }
    }
    fund = {**spend, "send": {**spend["send"], "destination": {"wallet": {"name": "alice"}}}}
    await run(api, await create_workflow(api, [spend, fund]), wait=True)
    proxy.reset()
    wallets = (await api.query(WALLETS, {"first": 10}))["wallets"]["nodes"]
    assert proxy.calls["accounts_by_prefix"] == 1, proxy.calls
    assert [w["name"] for w in wallets] == ["alicia", "bob", "alice"]
    alice = wallets[2]
    assert [(b["name"], b["assets"]) for b in alice["balances"]] == [
        ("main", [{"asset": "EUR/2", "amount": "30"}]),
        ("savings", [{"asset": "EUR/2", "amount": "30"}]),
    ]
    assert alice["balances"][0]["address"] == f"wallets:{alice['id'].replace('-', '')}:main"
    assert wallets[0]["balances"] == []
    named = (await api.query(WALLETS, {"name": "ali"}))["wallets"]["nodes"]
    assert [w["name"] for w in named] == ["alicia", "alice"]


async def test_instance_changes_streams_creations_and_status_changes(api: Api) -> None:
    watched = await create_workflow(api, WAIT_GO)
    other = await create_workflow(api, WAIT_GO)
    async with api.ws() as session, api.ws() as everything:
        seen: list[dict[str, Any]] = []
        seen_all: list[dict[str, Any]] = []

        async def listen(target: list[dict[str, Any]], client: Any, variables: dict[str, Any]) -> None:
            async for result in client.subscribe(gql(CHANGES), variable_values=variables):
                target.append(result["instanceChanges"])

        tasks = [
            asyncio.create_task(listen(seen, session, {"w": watched})),
            asyncio.create_task(listen(seen_all, everything, {})),
        ]
        await asyncio.sleep(0.3)
        first = await run(api, watched)
        await run(api, other)
        await send(api, first["id"])
        for _ in range(100):
            if len(seen) >= 2 and len(seen_all) >= 3:
                break
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
    assert seen == [
        {"id": first["id"], "workflowID": watched, "status": "RUNNING"},
        {"id": first["id"], "workflowID": watched, "status": "SUCCEEDED"},
    ]
    assert [(c["workflowID"], c["status"]) for c in seen_all] == [
        (watched, "RUNNING"),
        (other, "RUNNING"),
        (watched, "SUCCEEDED"),
    ]


async def test_instance_changes_of_an_unknown_workflow_is_not_found(api: Api) -> None:
    async with api.ws() as session:
        try:
            async for _ in session.subscribe(gql(CHANGES), variable_values={"w": "nope"}):
                raise AssertionError("no result expected")
        except Exception as error:  # gql raises TransportQueryError with the GraphQL errors
            assert "NOT_FOUND" in str(getattr(error, "errors", error)), error
