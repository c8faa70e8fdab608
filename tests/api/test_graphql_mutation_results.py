"""Mutations answer with the object they changed, so a normalized client cache stays whole."""

from __future__ import annotations

from tests.api.client import Api
from tests.api.flows import WAIT_GO, create_workflow, run, send_stage

SEND_EVENT = """mutation($id: ID!, $name: String!) { sendEvent(instanceID: $id, name: $name) {
  id status terminated stages { id index kind status } } }"""


async def test_send_event_answers_with_the_instance_that_took_it(api: Api) -> None:
    workflow = await create_workflow(api, [*WAIT_GO, send_stage(7)])
    instance = await run(api, workflow)
    answer = (await api.query(SEND_EVENT, {"id": instance["id"], "name": "go"}))["sendEvent"]
    assert answer["id"] == instance["id"]
    # The wait_event stage took the event before the answer was written.
    assert answer["stages"][0] == {
        "id": f"{instance['id']}:0",
        "index": 0,
        "kind": "WAIT_EVENT",
        "status": "SUCCEEDED",
    }


async def test_send_event_on_a_last_wait_stage_answers_succeeded(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    instance = await run(api, workflow)
    answer = (await api.query(SEND_EVENT, {"id": instance["id"], "name": "go"}))["sendEvent"]
    assert answer["status"] == "SUCCEEDED" and answer["terminated"] is True


async def test_an_event_no_stage_waits_for_stays_queued(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    instance = await run(api, workflow)
    answer = (await api.query(SEND_EVENT, {"id": instance["id"], "name": "other"}))["sendEvent"]
    assert answer["status"] == "RUNNING" and answer["stages"][0]["status"] == "WAITING"
    answer = (await api.query(SEND_EVENT, {"id": instance["id"], "name": "go"}))["sendEvent"]
    assert answer["status"] == "SUCCEEDED"


async def test_an_event_for_a_later_stage_answers_at_once(api: Api) -> None:
    workflow = await create_workflow(api, [{"delay": {"duration": "1h"}}, *WAIT_GO])
    instance = await run(api, workflow)
    answer = (await api.query(SEND_EVENT, {"id": instance["id"], "name": "go"}))["sendEvent"]
    assert answer["status"] == "RUNNING" and [s["kind"] for s in answer["stages"]] == ["DELAY"]


async def test_delete_workflow_and_trigger_answer_with_deleted_at(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO, name="gone")
    trigger = await api.query(
        'mutation($w: ID!) { createTrigger(input: {event: "E", workflowID: $w}) { id deletedAt } }',
        {"w": workflow},
    )
    assert trigger["createTrigger"]["deletedAt"] is None
    document = "mutation($t: ID!) { deleteTrigger(id: $t) { id event deletedAt } }"
    deleted = await api.query(document, {"t": trigger["createTrigger"]["id"]})
    assert deleted["deleteTrigger"]["event"] == "E" and deleted["deleteTrigger"]["deletedAt"]
    document = "mutation($w: ID!) { deleteWorkflow(id: $w) { id name deletedAt } }"
    gone = await api.query(document, {"w": workflow})
    assert gone["deleteWorkflow"]["name"] == "gone" and gone["deleteWorkflow"]["deletedAt"]
    again = await api.error("mutation($w: ID!) { deleteWorkflow(id: $w) { id } }", {"w": workflow})
    assert again["extensions"]["code"] == "NOT_FOUND"


async def test_run_and_cancel_answer_with_stages(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    instance = await run(api, workflow)
    assert [s["index"] for s in instance["stages"]] == [0]
    document = "mutation($id: ID!) { cancelInstance(id: $id) { id status stages { id status } } }"
    cancelled = await api.query(document, {"id": instance["id"]})
    assert cancelled["cancelInstance"]["status"] == "CANCELLED"
    assert cancelled["cancelInstance"]["stages"] == [{"id": f"{instance['id']}:0", "status": "CANCELLED"}]
