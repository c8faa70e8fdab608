"""Relay global object identification: every cached object has an id `node(id)` refetches."""

from __future__ import annotations

import uuid

from tests.api.client import Api
from tests.api.flows import WAIT_GO, create_workflow, run, send_stage

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Workflow { name } ... on Instance { status } ... on Stage { index kind }
  ... on Trigger { event } ... on Wallet { walletName: name } ... on Account { address ledger }
  ... on TriggerOccurrence { triggerID } } }"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def test_node_refetches_every_kind(api: Api) -> None:
    workflow = await create_workflow(api, [send_stage(3, "users:9"), *WAIT_GO], name="n")
    instance = await run(api, workflow)
    trigger = (
        await api.query(
            'mutation($w: ID!) { createTrigger(input: {event: "E", workflowID: $w}) { id } }', {"w": workflow}
        )
    )["createTrigger"]["id"]
    wallet = (await api.query('mutation { createWallet(name: "w") { id } }'))["createWallet"]["id"]
    occurrence = (await api.query('mutation { publishEvent(type: "E") { id } }'))["publishEvent"][0]["id"]
    expected = {
        workflow: ("Workflow", {"name": "n"}),
        instance["id"]: ("Instance", {"status": "RUNNING"}),
        f"{instance['id']}:0": ("Stage", {"index": 0, "kind": "SEND"}),
        trigger: ("Trigger", {"event": "E"}),
        wallet: ("Wallet", {"walletName": "w"}),
        "users:9@default": ("Account", {"address": "users:9", "ledger": "default"}),
        occurrence: ("TriggerOccurrence", {"triggerID": trigger}),
    }
    for node_id, (typename, fields) in expected.items():
        node = (await api.query(NODE, {"id": node_id}))["node"]
        assert node == {"__typename": typename, "id": node_id, **fields}
    nodes = (await api.query(NODES, {"ids": [*expected, "nothing"]}))["nodes"]
    assert [n and n["__typename"] for n in nodes] == [t for t, _ in expected.values()] + [None]


async def test_the_ids_objects_carry_are_the_ids_node_takes(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    instance = await run(api, workflow)
    stage_id = (
        await api.query("query($id: ID!) { instance(id: $id) { stages { id } } }", {"id": instance["id"]})
    )["instance"]["stages"][0]["id"]
    assert stage_id == f"{instance['id']}:0"
    account = (await api.query('{ account(address: "users:1") { id } }'))["account"]["id"]
    assert account == "users:1@default"
    nodes = (await api.query(NODES, {"ids": [stage_id, account]}))["nodes"]
    assert nodes == [{"__typename": "Stage", "id": stage_id}, {"__typename": "Account", "id": account}]


async def test_an_id_of_nothing_is_null_without_error(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    instance = await run(api, workflow)
    nothings = (str(uuid.uuid4()), "nope", f"{instance['id']}:7", f"{uuid.uuid4()}:0", "@", "bad!@x", "")
    for nothing in nothings:
        body = await api.post(NODE, {"id": nothing})
        assert body == {"data": {"node": None}}, (nothing, body)


async def test_nodes_is_bounded(api: Api) -> None:
    error = await api.error(NODES, {"ids": [str(uuid.uuid4()) for _ in range(101)]})
    assert error["extensions"] == {"code": "VALIDATION", "field": "ids"}


async def test_every_id_argument_is_an_id(api: Api) -> None:
    from flowql.resolvers import create_schema

    schema = create_schema()._schema
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                if arg_name == "id" or arg_name.endswith("ID"):
                    assert str(arg.type).removesuffix("!") == "ID", f"{root.name}.{name}({arg_name})"
