"""Every document in graphql/operations runs against a running server, over HTTP or, for
subscriptions, over graphql-transport-ws. Variables come from a fresh set of records made
for each document, matched by variable name."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from gql import gql
from graphql import OperationDefinitionNode, OperationType, parse

from tests.api.client import Api
from tests.api.flows import create_workflow, run, send

pytestmark = pytest.mark.both_stores

OPERATIONS = sorted((Path(__file__).resolve().parents[2] / "graphql" / "operations").glob("*.graphql"))
DOCUMENTS = {path: path.read_text(encoding="utf-8") for path in OPERATIONS}
STAGES = [
    {"wait_event": {"event": "go"}},
    {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"account": {"id": "users:${user}"}},
            "amount": {"amount": "${amount}", "asset": "USD/2"},
        }
    },
]


def test_there_is_a_document_for_every_root_field() -> None:
    from flowql.resolvers import create_schema

    schema = create_schema()._schema
    used: set[str] = set()
    for path in OPERATIONS:
        for definition in parse(DOCUMENTS[path]).definitions:
            assert isinstance(definition, OperationDefinitionNode)
            used.update(
                f"{definition.operation.value}.{s.name.value}" for s in definition.selection_set.selections
            )  # type: ignore[attr-defined]
    roots = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }
    expected = {f"{kind}.{name}" for kind, root in roots.items() if root for name in root.fields}
    assert expected <= used, f"no example document for {sorted(expected - used)}"


async def sample(api: Api) -> dict[str, Any]:
    workflow = await create_workflow(api, STAGES, name="example")
    instance = (await run(api, workflow, {"user": "1", "amount": "100"}))["id"]
    trigger = await api.query(
        """mutation($t: CreateTriggerInput!) { createTrigger(input: $t) { id } }""",
        {
            "t": {
                "name": "on-deposit",
                "event": "DEPOSIT",
                "workflowID": workflow,
                "filter": "event.amount > 10",
                "vars": {"user": "string(event.user)", "amount": "string(event.amount)"},
            }
        },
    )
    wallet = await api.query('mutation { createWallet(name: "example-wallet") { id } }')
    return {
        "workflowID": workflow,
        "instanceID": instance,
        "triggerID": trigger["createTrigger"]["id"],
        "walletID": wallet["createWallet"]["id"],
        "workflow": {"name": "payout", "stages": STAGES},
        "trigger": {
            "name": "t2",
            "event": "DEPOSIT",
            "workflowID": workflow,
            "vars": {"user": "string(event.user)", "amount": "string(event.amount)"},
        },
        "variables": {"user": "2", "amount": "250"},
        "wait": False,
        "eventName": "go",
        "walletName": "alice",
        "ledger": "default",
        "address": "users:1",
        "metadata": {"tier": "gold"},
        "type": "DEPOSIT",
        "payload": {"user": 7, "amount": 1234},
        "version": None,
        "first": 10,
        "after": None,
        "running": None,
        "name": None,
        "stage": 0,
        "status": ["RUNNING", "SUCCEEDED"],
        "createdAfter": "2000-01-01T00:00:00.000Z",
        "createdBefore": None,
        "addressPrefix": "users:",
        "account": None,
        "nodeID": instance,
        "nodeIDs": [workflow, instance, f"{instance}:0", "users:1@default"],
    }


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
async def test_operation_runs(api: Api, path: Path) -> None:
    text = DOCUMENTS[path]
    document = parse(text)
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode) and operation.name is not None
    assert operation.name.value == path.stem, "name each document after its file"
    values = await sample(api)
    names = [v.variable.name.value for v in operation.variable_definitions or ()]
    missing = [n for n in names if n not in values]
    assert not missing, f"add sample values for {missing} in test_operations.sample()"
    variables = {n: values[n] for n in names}

    if operation.operation is not OperationType.SUBSCRIPTION:
        data = await api.query(text, variables)
        assert data and all(v is not None for v in data.values()), data
        return

    async with api.ws() as session:
        first: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        async def listen() -> None:
            async for result in session.subscribe(gql(text), variable_values=variables):
                if not first.done():
                    first.set_result(result)

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.2)
        await send(api, values["instanceID"], "go")  # makes live transitions for live-only streams
        result = await asyncio.wait_for(first, 10)
        task.cancel()
    assert result and all(v is not None for v in result.values())
