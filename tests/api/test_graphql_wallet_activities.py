"""A wallet send's activities over GraphQL: the outputs Formance's wallets service answers
(GetWallet `{data: wallet}` with its main balance, ListWallets `{cursor: {...}}`), amounts as
digit strings (BigInt's convention). CreditWallet / DebitWallet keep flowql's posting record
(REST shows them without output, as Formance)."""

from __future__ import annotations

import pytest

from tests.api.client import Api

pytestmark = pytest.mark.both_stores

RUN = """mutation($id: ID!) {
  runWorkflow(workflowID: $id, wait: true) {
    status stages { history { name input output } }
  }
}"""


async def test_wallet_lookups_answer_the_wallets_services_shapes(api: Api) -> None:
    alice = (
        await api.query('mutation { createWallet(name: "alice", metadata: {tier: "gold"}) { id createdAt } }')
    )["createWallet"]
    await api.query('mutation { createWallet(name: "bob") { id } }')
    stages = [
        {
            "send": {
                "source": {"account": {"id": "world"}},
                "destination": {"wallet": {"id": alice["id"]}},
                "amount": {"amount": "98765432109876543210", "asset": "USD/2"},
            }
        },
        {
            "send": {
                "source": {"wallet": {"id": alice["id"]}},
                "destination": {"wallet": {"name": "bob"}},
                "amount": {"amount": 10, "asset": "USD/2"},
            }
        },
    ]
    created = await api.query(
        "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id } }", {"w": {"stages": stages}}
    )
    run = (await api.query(RUN, {"id": created["createWorkflow"]["id"]}))["runWorkflow"]
    assert run["status"] == "SUCCEEDED"
    first, second = (stage["history"] for stage in run["stages"])
    assert [a["name"] for a in first] == ["GetWallet", "CreditWallet"]
    assert first[0]["output"] == {
        "data": {
            "id": alice["id"],
            "name": "alice",
            "metadata": {"tier": "gold"},
            "createdAt": alice["createdAt"],
            "ledger": "default",
            "balances": {"main": {"assets": {}}},
        }
    }
    assert [a["name"] for a in second] == ["GetWallet", "ListWallets", "CreditWallet"]
    assert second[0]["output"]["data"]["balances"] == {"main": {"assets": {"USD/2": "98765432109876543210"}}}
    listed = second[1]["output"]["cursor"]
    assert (listed["pageSize"], listed["hasMore"]) == (15, False)
    assert [w["name"] for w in listed["data"]] == ["bob"]
    assert listed["data"][0]["balances"] == {"main": {"assets": {}}}
