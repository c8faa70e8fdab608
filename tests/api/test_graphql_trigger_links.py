"""`link(event, "rel")` over GraphQL: createTrigger accepts it, testTrigger and publishEvent
follow the event's link to a wallet of the embedded ledger (Formance's wallets route); a
relation that is not a literal is VALIDATION naming the field, nothing stored."""

from __future__ import annotations

import pytest

from tests.api.client import Api

pytestmark = pytest.mark.both_stores

CREATE = "mutation($t: CreateTriggerInput!) { createTrigger(input: $t) { id filter vars } }"
TEST = """mutation($id: ID!, $e: JSON!) {
  testTrigger(id: $id, event: $e) { match error variables { name value error } }
}"""
PUBLISH = """mutation($p: JSON!) {
  publishEvent(type: "SAVED_PAYMENT", payload: $p) { error instance { variables } }
}"""


async def test_a_trigger_follows_a_link_to_a_wallet(api: Api) -> None:
    wallet = (await api.query('mutation { createWallet(name: "alice", metadata: {tier: "gold"}) { id } }'))[
        "createWallet"
    ]["id"]
    workflow = (
        await api.query('mutation { createWorkflow(input: {stages: [{delay: {duration: "1h"}}]}) { id } }')
    )["createWorkflow"]["id"]
    trigger = (
        await api.query(
            CREATE,
            {
                "t": {
                    "event": "SAVED_PAYMENT",
                    "workflowID": workflow,
                    "filter": 'link(event, "wallet").metadata.tier == "gold"',
                    "vars": {"wallet": 'link(event, "wallet").name'},
                }
            },
        )
    )["createTrigger"]
    link = {"name": "wallet", "uri": f"https://stack.example/api/wallets/wallets/{wallet}"}
    tested = (await api.query(TEST, {"id": trigger["id"], "e": {"links": [link]}}))["testTrigger"]
    assert tested == {
        "match": True,
        "error": None,
        "variables": [{"name": "wallet", "value": "alice", "error": None}],
    }
    published = await api.query(
        PUBLISH,
        {"p": {"id": "pay_1", "links": [link]}},
    )
    [occurrence] = published["publishEvent"]
    assert occurrence["error"] is None and occurrence["instance"]["variables"] == {"wallet": "alice"}


async def test_a_relation_that_is_not_a_literal_is_refused(api: Api) -> None:
    workflow = (
        await api.query('mutation { createWorkflow(input: {stages: [{delay: {duration: "1h"}}]}) { id } }')
    )["createWorkflow"]["id"]
    error = await api.error(
        CREATE, {"t": {"event": "E", "workflowID": workflow, "filter": "link(event, event.rel).ok"}}
    )
    assert error["extensions"] == {"code": "VALIDATION", "field": "filter"}
    assert error["message"].startswith("filter: 1:13: link(): the relation must be a string literal")
    listed = await api.query("{ triggers(first: 5) { edges { node { id } } } }")
    assert listed["triggers"]["edges"] == []
