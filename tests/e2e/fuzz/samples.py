"""Real records for the fuzzer to aim at: generated IDs are sometimes these, so hostile
values also reach the code behind a successful lookup (a live instance, a real trigger).

Nothing here runs by itself: the workflow waits for an event before its send, so the
store is quiet between requests unless a request started something.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .client import HttpClient

EVENT_TYPE = "DEPOSIT"
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
CREATE_WORKFLOW = "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id } }"
DELETE_WORKFLOW = "mutation($id: ID!) { deleteWorkflow(id: $id) { id deletedAt } }"
RUN = "mutation($id: ID!, $v: JSON) { runWorkflow(workflowID: $id, variables: $v) { id } }"
CANCEL = "mutation($id: ID!) { cancelInstance(id: $id) { id } }"
CREATE_TRIGGER = "mutation($t: CreateTriggerInput!) { createTrigger(input: $t) { id } }"
DELETE_TRIGGER = "mutation($id: ID!) { deleteTrigger(id: $id) { id deletedAt } }"
CREATE_WALLET = "mutation($n: String!) { createWallet(name: $n) { id } }"
CURSORS = """{ workflows(first: 1) { pageInfo { endCursor } }
  instances(first: 1) { pageInfo { endCursor } } triggers(first: 1) { pageInfo { endCursor } } }"""


@dataclass(frozen=True, slots=True)
class Samples:
    workflows: tuple[str, ...]
    """A live workflow, then a deleted one."""
    instances: tuple[str, ...]
    """A waiting instance, then a cancelled one."""
    triggers: tuple[str, ...]
    """A live trigger on EVENT_TYPE, then a deleted one."""
    wallets: tuple[str, ...]
    cursors: tuple[str, ...]
    """Valid end cursors of a workflow, an instance and a trigger page."""


def make_samples(client: HttpClient) -> Samples:
    def create_workflow() -> str:
        data = client.data(CREATE_WORKFLOW, {"w": {"name": "fuzz", "stages": STAGES}})
        return str(data["createWorkflow"]["id"])

    workflow, deleted_workflow = create_workflow(), create_workflow()
    variables = {"user": "1", "amount": "100"}
    waiting = client.data(RUN, {"id": workflow, "v": variables})["runWorkflow"]["id"]
    cancelled = client.data(RUN, {"id": workflow, "v": variables})["runWorkflow"]["id"]
    client.data(CANCEL, {"id": cancelled})
    client.data(DELETE_WORKFLOW, {"id": deleted_workflow})

    def create_trigger() -> str:
        trigger = {
            "name": "fuzz",
            "event": EVENT_TYPE,
            "workflowID": workflow,
            "filter": "event.amount > 10",
            "vars": {"user": "string(event.user)", "amount": "string(event.amount)"},
        }
        return str(client.data(CREATE_TRIGGER, {"t": trigger})["createTrigger"]["id"])

    trigger, deleted_trigger = create_trigger(), create_trigger()
    client.data(DELETE_TRIGGER, {"id": deleted_trigger})
    wallet = client.data(CREATE_WALLET, {"n": f"fuzz-{uuid.uuid4().hex[:8]}"})["createWallet"]["id"]
    pages = client.data(CURSORS)
    cursors = tuple(page["pageInfo"]["endCursor"] for page in pages.values() if page["pageInfo"]["endCursor"])
    return Samples(
        workflows=(workflow, deleted_workflow),
        instances=(waiting, cancelled),
        triggers=(trigger, deleted_trigger),
        wallets=(wallet,),
        cursors=cursors,
    )


__all__ = ["EVENT_TYPE", "STAGES", "Samples", "make_samples"]
