"""Ids are RFC 9562 UUIDs: instances, triggers, occurrences and wallets UUIDv7 (time-ordered,
valid version and variant); ids of existing stores (version nibble 0) stay readable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flowql.engine.models import Instance, InstanceStatus, StageStatus, Transition
from flowql.engine.stages import StageKind
from tests.api.client import Api
from tests.api.flows import WAIT_GO, create_workflow, run


def is_v7(text: str) -> bool:
    parsed = uuid.UUID(text)
    return str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122


async def test_new_ids_are_uuid_v7_in_creation_order(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    assert uuid.UUID(workflow).variant == uuid.RFC_4122
    instances = [(await run(api, workflow))["id"] for _ in range(5)]
    assert all(is_v7(i) for i in instances) and instances == sorted(instances)
    trigger = await api.query(
        'mutation($w: ID!) { createTrigger(input: {event: "E", workflowID: $w}) { id } }', {"w": workflow}
    )
    occurrence = await api.query('mutation { publishEvent(type: "E") { id workflowInstanceID } }')
    wallet = await api.query('mutation { createWallet(name: "w") { id } }')
    for made in (
        trigger["createTrigger"]["id"],
        occurrence["publishEvent"][0]["id"],
        occurrence["publishEvent"][0]["workflowInstanceID"],
        wallet["createWallet"]["id"],
    ):
        assert is_v7(made), made


async def test_old_ids_stay_readable(api: Api) -> None:
    workflow = await create_workflow(api, WAIT_GO)
    old = "01a2337a-fd23-0000-8734-08e60672a37d"  # what flowql made before: version nibble 0
    assert uuid.UUID(old).version is None or uuid.UUID(old).version == 0
    now = datetime.now(UTC)
    instance = Instance(id=old, workflow_id=workflow, created_at=now, updated_at=now)
    first = Transition(
        instance_id=old,
        workflow_id=workflow,
        seq=1,
        stage=0,
        kind=StageKind.WAIT_EVENT,
        status=StageStatus.RUNNING,
        instance_status=InstanceStatus.RUNNING,
        at=now,
    )
    await api.app_state.store.insert_instance(instance, [first])
    found = await api.query("query($id: ID!) { instance(id: $id) { id status } }", {"id": old})
    assert found["instance"] == {"id": old, "status": "RUNNING"}
    node = await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": old})
    assert node["node"] == {"id": old}
