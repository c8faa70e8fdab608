"""GraphQL documents and small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api

CREATE = "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id name } }"
RUN = """mutation($id: ID!, $vars: JSON, $wait: Boolean) {
  runWorkflow(workflowID: $id, variables: $vars, wait: $wait) { id status error stages { index status } } }"""
SEND = "mutation($id: ID!, $name: String!) { sendEvent(instanceID: $id, name: $name) { id status } }"
CANCEL = "mutation($id: ID!) { cancelInstance(id: $id) { id status stages { index status } } }"
INSTANCE = """query($id: ID!) { instance(id: $id) {
  id status terminated error stages { index kind status error } } }"""
TRANSITIONS = """subscription($id: ID) { stageTransitions(instanceID: $id) {
  instanceID workflowID seq stage kind status instanceStatus at error } }"""
WORKFLOW_TRANSITIONS = """subscription($id: ID) { stageTransitions(workflowID: $id) {
  instanceID seq stage kind status instanceStatus } }"""
INSTANCE_UPDATED = """subscription($id: ID!) { instanceUpdated(id: $id) {
  id status terminated stages { index status } } }"""

WAIT_GO = [{"wait_event": {"event": "go"}}]


def send_stage(amount: str | int, destination: str = "users:1", asset: str = "USD/2") -> dict[str, Any]:
    return {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"account": {"id": destination}},
            "amount": {"amount": amount, "asset": asset},
        }
    }


async def create_workflow(api: Api, stages: list[dict[str, Any]], name: str = "test") -> str:
    data = await api.query(CREATE, {"w": {"name": name, "stages": stages}})
    workflow_id: str = data["createWorkflow"]["id"]
    return workflow_id


async def run(
    api: Api, workflow_id: str, variables: dict[str, Any] | None = None, *, wait: bool = False
) -> dict[str, Any]:
    data = await api.query(RUN, {"id": workflow_id, "vars": variables, "wait": wait})
    instance: dict[str, Any] = data["runWorkflow"]
    return instance


async def send(api: Api, instance_id: str, name: str = "go") -> None:
    assert (await api.query(SEND, {"id": instance_id, "name": name}))["sendEvent"]["id"] == instance_id


__all__ = [
    "CANCEL",
    "CREATE",
    "INSTANCE",
    "INSTANCE_UPDATED",
    "RUN",
    "SEND",
    "TRANSITIONS",
    "WAIT_GO",
    "WORKFLOW_TRANSITIONS",
    "create_workflow",
    "run",
    "send",
    "send_stage",
]
