"""Queries and mutations over HTTP against a real port."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.client import Api
from tests.api.flows import CANCEL, create_workflow, run, send, send_stage

pytestmark = pytest.mark.both_stores

HUGE = "123456789012345678901234567890"

PAGE = """query($first: Int, $after: String) { workflows(first: $first, after: $after) {
  edges { cursor node { id name } } nodes { id }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def test_create_and_read_a_workflow(api: Api) -> None:
    stages = [
        {"delay": {"duration": "10ms"}},
        {"wait_event": {"event": "approved"}},
        send_stage("${amount}", "users:${user}"),
        {"update": {"account": {"id": "users:1", "metadata": {"kyc": "ok"}}}},
    ]
    workflow_id = await create_workflow(api, stages, name="payout")
    data = await api.query(
        """query($id: ID!) { workflow(id: $id) { id name stages createdAt updatedAt deletedAt
          stageDefinitions { __typename
            ... on DelayStage { duration until } ... on WaitEventStage { event }
            ... on SendStage { source { account { id ledger } } destination { account { id } }
                               amount { amount asset } allowOverdraft metadata }
            ... on UpdateStage { account { id ledger metadata } } } } }""",
        {"id": workflow_id},
    )
    workflow = data["workflow"]
    assert workflow["name"] == "payout" and workflow["stages"] == stages and workflow["deletedAt"] is None
    assert workflow["createdAt"].endswith("Z")
    definitions = workflow["stageDefinitions"]
    assert [d["__typename"] for d in definitions] == [
        "DelayStage",
        "WaitEventStage",
        "SendStage",
        "UpdateStage",
    ]
    assert definitions[0] == {"__typename": "DelayStage", "duration": "10ms", "until": None}
    assert definitions[2]["source"] == {"account": {"id": "world", "ledger": "default"}}
    assert definitions[2]["amount"] == {"amount": "${amount}", "asset": "USD/2"}
    assert definitions[3]["account"] == {"id": "users:1", "ledger": "main", "metadata": {"kyc": "ok"}}


async def test_workflow_pages_follow_cursors(api: Api) -> None:
    created = [await create_workflow(api, [send_stage(1)], name=f"w{i}") for i in range(5)]
    first = (await api.query(PAGE, {"first": 2}))["workflows"]
    assert [e["node"]["name"] for e in first["edges"]] == ["w4", "w3"]
    assert [n["id"] for n in first["nodes"]] == created[:2:-1][:2]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = (await api.query(PAGE, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["workflows"]
    assert [e["node"]["name"] for e in second["edges"]] == ["w2", "w1"]
    assert second["pageInfo"]["hasPreviousPage"]
    # The cursor remembers its page size; any edge's cursor reads on after that edge.
    rest = (await api.query(PAGE, {"after": second["edges"][0]["cursor"]}))["workflows"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["w1", "w0"]
    last = (await api.query(PAGE, {"first": 10, "after": second["pageInfo"]["endCursor"]}))["workflows"]
    assert [e["node"]["name"] for e in last["edges"]] == ["w0"] and not last["pageInfo"]["hasNextPage"]


async def test_delete_workflow_hides_it_and_refuses_runs(api: Api) -> None:
    workflow_id = await create_workflow(api, [send_stage(1)], name="gone")
    document = "mutation($id: ID!) { deleteWorkflow(id: $id) { id name deletedAt } }"
    deleted = (await api.query(document, {"id": workflow_id}))["deleteWorkflow"]
    assert deleted["id"] == workflow_id and deleted["name"] == "gone" and deleted["deletedAt"]
    assert (await api.query(PAGE, {"first": 10}))["workflows"]["edges"] == []
    error = await api.error("mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }", {"id": workflow_id})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_run_with_wait_and_read_the_instance(api: Api) -> None:
    workflow_id = await create_workflow(api, [send_stage("${amount}", "users:${user}")])
    instance = await run(api, workflow_id, {"amount": HUGE, "user": "7"}, wait=True)
    assert instance["status"] == "SUCCEEDED" and instance["error"] is None
    data = await api.query(
        """query($id: ID!) { instance(id: $id) { id workflowID status terminated terminatedAt variables
          workflow { id } stages { index kind status terminated spec startedAt terminatedAt
            history { name input output attempt terminated } }
          history { seq stage status instanceStatus }
          stageHistory(stage: 0) { name attempt } } }""",
        {"id": instance["id"]},
    )
    got = data["instance"]
    assert got["workflowID"] == workflow_id and got["workflow"]["id"] == workflow_id
    assert got["terminated"] and got["terminatedAt"] and got["variables"] == {"amount": HUGE, "user": "7"}
    stage = got["stages"][0]
    assert stage["kind"] == "SEND" and stage["status"] == "SUCCEEDED" and stage["terminated"]
    assert stage["spec"] == send_stage("${amount}", "users:${user}")
    assert stage["history"] and stage["history"][0]["attempt"] == 1
    assert [h["seq"] for h in got["history"]] == list(range(1, len(got["history"]) + 1))
    assert got["history"][-1]["instanceStatus"] == "SUCCEEDED"
    assert got["stageHistory"] == [{"name": h["name"], "attempt": h["attempt"]} for h in stage["history"]]
    account = await api.query(
        '{ account(ledger: "default", address: "users:7") { balances { asset amount } } }'
    )
    assert account["account"]["balances"] == [{"asset": "USD/2", "amount": HUGE}]


async def test_stage_history_out_of_range(api: Api) -> None:
    workflow_id = await create_workflow(api, [send_stage(1)])
    instance = await run(api, workflow_id, wait=True)
    error = await api.error(
        "query($id: ID!) { instance(id: $id) { stageHistory(stage: 3) { name } } }", {"id": instance["id"]}
    )
    assert error["extensions"] == {"code": "VALIDATION", "field": "stage"}


async def test_instances_filters_and_workflow_instances(api: Api) -> None:
    waiting = await create_workflow(api, [{"wait_event": {"event": "go"}}], name="waiting")
    quick = await create_workflow(api, [send_stage(1)], name="quick")
    running = [(await run(api, waiting))["id"] for _ in range(3)]
    finished = (await run(api, quick, wait=True))["id"]
    await send(api, running[0])
    await api.query(CANCEL, {"id": running[1]})

    async def ids(**variables: Any) -> list[str]:
        data = await api.query(
            """query($workflowID: ID, $running: Boolean, $first: Int) {
              instances(workflowID: $workflowID, running: $running, first: $first) {
                edges { node { id } } } }""",
            variables,
        )
        return [e["node"]["id"] for e in data["instances"]["edges"]]

    assert await ids() == [finished, *running[::-1]]
    assert await ids(workflowID=waiting) == running[::-1]
    assert set(await ids(running=True)) <= {running[0], running[2]}
    assert running[2] in await ids(running=True)
    assert finished in await ids(running=False) and running[1] in await ids(running=False)
    data = await api.query(
        """query($id: ID!) { workflow(id: $id) {
          instances(first: 2) { edges { node { id } } pageInfo { hasNextPage } } } }""",
        {"id": waiting},
    )
    page = data["workflow"]["instances"]
    assert [e["node"]["id"] for e in page["edges"]] == running[:0:-1] and page["pageInfo"]["hasNextPage"]


async def test_wallets_and_accounts(api: Api) -> None:
    data = await api.query(
        'mutation { createWallet(name: "alice", metadata: {tier: "gold"}) '
        "{ id name ledger metadata createdAt } }"
    )
    wallet = data["createWallet"]
    assert wallet["ledger"] == "default" and wallet["metadata"] == {"tier": "gold"}
    workflow_id = await create_workflow(
        api,
        [
            {
                "send": {
                    "source": {"account": {"id": "world"}},
                    "destination": {"wallet": {"name": "alice"}},
                    "amount": {"amount": HUGE, "asset": "EUR/2"},
                }
            }
        ],
    )
    assert (await run(api, workflow_id, wait=True))["status"] == "SUCCEEDED"
    data = await api.query(
        "query($id: ID!) { wallet(id: $id) { name account { address balances { asset amount } } } }",
        {"id": wallet["id"]},
    )
    assert data["wallet"]["account"] == {
        "address": f"wallets:{wallet['id'].replace('-', '')}:main",
        "balances": [{"asset": "EUR/2", "amount": HUGE}],
    }
    world = await api.query(
        '{ account(address: "world") { address ledger balances { asset amount } metadata } }'
    )
    assert world["account"]["balances"] == [{"asset": "EUR/2", "amount": f"-{HUGE}"}]
    error = await api.error('mutation { createWallet(name: "alice") { id } }')
    assert error["extensions"]["code"] == "CONFLICT"


async def test_failed_send_is_visible(api: Api) -> None:
    workflow_id = await create_workflow(
        api,
        [
            {
                "send": {
                    "source": {"account": {"id": "empty"}},
                    "destination": {"account": {"id": "b"}},
                    "amount": {"amount": 5, "asset": "USD/2"},
                }
            }
        ],
    )
    instance = await run(api, workflow_id, wait=True)
    assert instance["status"] == "FAILED" and instance["error"]
    assert instance["stages"] == [{"index": 0, "status": "FAILED"}]
