"""`createWorkflow(input: {retry: {maxAttempts}})`: REST's `retry` policy in GraphQL, shown
on `Workflow.retry`; a bad bound is VALIDATION naming `retry.maxAttempts`, nothing stored."""

from __future__ import annotations

import pytest

from tests.api.client import Api

pytestmark = pytest.mark.both_stores

CREATE = """mutation($w: CreateWorkflowInput!) {
  createWorkflow(input: $w) { id retry { maxAttempts } }
}"""
OVERDRAWN = [
    {
        "send": {
            "source": {"account": {"id": "empty"}},
            "destination": {"account": {"id": "bank"}},
            "amount": {"amount": 5, "asset": "USD/2"},
        }
    }
]
RUN = """mutation($id: ID!) {
  runWorkflow(workflowID: $id, wait: true) {
    status error stages { status history { name attempt lastFailure error } }
  }
}"""


async def test_a_workflow_bounds_its_attempts_and_shows_its_policy(api: Api) -> None:
    created = (await api.query(CREATE, {"w": {"stages": OVERDRAWN, "retry": {"maxAttempts": 1}}}))[
        "createWorkflow"
    ]
    assert created["retry"] == {"maxAttempts": 1}
    read = await api.query(
        "query($id: ID!) { workflow(id: $id) { retry { maxAttempts } } }", {"id": created["id"]}
    )
    assert read["workflow"]["retry"] == {"maxAttempts": 1}
    # the server's test policy allows 3 attempts; the workflow's own bound of 1 wins
    run = (await api.query(RUN, {"id": created["id"]}))["runWorkflow"]
    assert run["status"] == "FAILED"
    assert run["error"].startswith("gave up after 1 attempts: VALIDATION: source: insufficient funds")
    [activity] = run["stages"][0]["history"]
    assert activity["name"] == "CreateTransaction" and activity["attempt"] == 1
    assert "insufficient funds" in activity["lastFailure"]


async def test_without_a_policy_retry_is_null_and_the_servers_bound_applies(api: Api) -> None:
    created = (await api.query(CREATE, {"w": {"stages": OVERDRAWN}}))["createWorkflow"]
    assert created["retry"] is None
    run = (await api.query(RUN, {"id": created["id"]}))["runWorkflow"]
    assert run["error"].startswith("gave up after 3 attempts")
    assert run["stages"][0]["history"][0]["attempt"] == 3


@pytest.mark.parametrize("attempts", [0, -1, 1_000_001])
async def test_a_bad_bound_is_validation_naming_the_field_and_stores_nothing(api: Api, attempts: int) -> None:
    error = await api.error(CREATE, {"w": {"stages": OVERDRAWN, "retry": {"maxAttempts": attempts}}})
    assert error["extensions"] == {"code": "VALIDATION", "field": "retry.maxAttempts"}
    assert "between 1 and 1000000" in error["message"]
    listed = await api.query("{ workflows(first: 5) { edges { node { id } } } }")
    assert listed["workflows"]["edges"] == []


async def test_a_policy_without_max_attempts_is_refused_by_the_schema(api: Api) -> None:
    error = await api.error(CREATE, {"w": {"stages": OVERDRAWN, "retry": {}}})
    assert error["extensions"]["code"] == "VALIDATION"
    assert "maxAttempts" in error["message"]
