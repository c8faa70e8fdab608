"""Workflows and instances through the official Formance SDK, v1 and v2 alike."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.rest_server import RestServer, api, body, error_type, listed
from tests.api.rest_server import rest_server as rest_server  # the fixture

pytestmark = pytest.mark.both_stores

SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:${user}"}},
        "amount": {"amount": "${amount}", "asset": "USD/2"},
        "metadata": {"why": "test"},
    }
}
WAIT = {"wait_event": {"event": "go"}}
LONG_DELAY = {"delay": {"duration": "1h"}}
UPDATE = {"update": {"account": {"id": "users:1", "metadata": {"tier": "gold"}}}}

pytestmark = pytest.mark.parametrize("version", [1, 2])


def create(client: Any, *stages: dict[str, Any], name: str = "wf") -> Any:
    return body(client.create_workflow(request={"name": name, "stages": list(stages)})).data


def run(client: Any, workflow_id: str, wait: bool = False, **variables: str) -> Any:
    request = {"workflow_id": workflow_id, "request_body": variables, "wait": wait}
    return body(client.run_workflow(request=request)).data


def until_terminated(client: Any, instance_id: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = body(client.get_instance(request={"instance_id": instance_id})).data
        if found.terminated or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_server_info(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    info = client.get_server_info_orchestration() if version == 1 else client.get_server_info()
    assert body(info).version


def test_workflow_lifecycle(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    created = create(client, SEND, WAIT, name="payout")
    assert created.config.name == "payout"
    assert created.config.stages == [SEND, WAIT]
    assert created.created_at == created.updated_at

    got = body(client.get_workflow(request={"flow_id": created.id})).data
    assert got == created

    assert [w.id for w in listed(client, version, "list_workflows")] == [created.id]

    response = client.delete_workflow(request={"flow_id": created.id})
    assert response.status_code == 204
    deleted = client.get_workflow(request={"flow_id": created.id})  # still read, as in Formance
    assert deleted.raw_response.json()["data"]["deletedAt"] is not None
    assert listed(client, version, "list_workflows") == []
    with pytest.raises(error_type(version)) as raised:
        client.get_workflow(request={"flow_id": "4b7e0c4e-0000-4000-8000-000000000000"})
    assert raised.value.status_code == 404
    assert raised.value.data.error_code == "NOT_FOUND"


def test_deleting_a_non_uuid_workflow_is_400(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    with pytest.raises(error_type(version)) as raised:
        client.delete_workflow(request={"flow_id": "unknown"})
    assert (raised.value.status_code, raised.value.data.error_code) == (400, "VALIDATION")
    with pytest.raises(error_type(version)) as missing:
        client.delete_workflow(request={"flow_id": "4b7e0c4e-0000-4000-8000-000000000000"})
    assert (missing.value.status_code, missing.value.data.error_code) == (404, "NOT_FOUND")


def test_create_workflow_validation_names_the_field(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    bad = {"send": {"source": {"account": {"id": "world"}}, "destination": {"account": {"id": "a"}}}}
    with pytest.raises(error_type(version)) as raised:
        client.create_workflow(request={"stages": [WAIT, bad]})
    assert raised.value.status_code == 400
    assert raised.value.data.error_code == "VALIDATION"
    assert "stages[1].send.amount" in raised.value.data.error_message

    with pytest.raises(error_type(version)) as raised:
        client.create_workflow(request={"stages": [{"teleport": {}}]})
    assert raised.value.data.error_code == "VALIDATION"


def test_a_noop_stage_has_a_history(rest_server: RestServer, version: int) -> None:
    """Formance registers the noop stage's child workflow as `NoOp` (flows' api tests)."""
    client = api(rest_server.sdk(), version)
    workflow = create(client, {"noop": {}})
    instance = run(client, workflow.id, wait=True)
    history = body(client.get_instance_history(request={"instance_id": instance.id})).data
    assert [h.name for h in history] == ["NoOp"]


def test_unknown_ids_are_not_found(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    calls = [
        lambda: client.get_workflow(request={"flow_id": "nope"}),
        lambda: client.delete_workflow(request={"flow_id": "4b7e0c4e-0000-4000-8000-000000000000"}),
        lambda: client.run_workflow(request={"workflow_id": "nope"}),
        lambda: client.get_instance(request={"instance_id": "nope"}),
        lambda: client.get_instance_history(request={"instance_id": "nope"}),
        lambda: client.get_instance_stage_history(request={"instance_id": "nope", "number": 0}),
        lambda: client.send_event(request={"instance_id": "nope", "request_body": {"name": "go"}}),
        lambda: client.cancel_event(request={"instance_id": "nope"}),
    ]
    for call in calls:
        with pytest.raises(error_type(version)) as raised:
            call()
        assert (raised.value.status_code, raised.value.data.error_code) == (404, "NOT_FOUND")


def test_run_and_wait_send_then_histories(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    workflow = create(client, SEND, UPDATE)
    instance = run(client, workflow.id, wait=True, user="7", amount="250")
    assert instance.workflow_id == workflow.id
    assert instance.terminated and instance.terminated_at is not None
    assert instance.error is None
    assert [s.stage for s in instance.status] == [0, 1]
    assert all(s.instance_id == instance.id and s.terminated_at for s in instance.status)
    assert instance.workflow is not None and instance.workflow.id == workflow.id

    history = body(client.get_instance_history(request={"instance_id": instance.id})).data
    assert [h.name for h in history] == ["RunSend", "RunUpdate"]
    assert all(h.terminated for h in history)
    send_input = history[0].input
    assert send_input.amount.amount == 250
    assert send_input.destination.account.id == "users:7"

    stage = body(client.get_instance_stage_history(request={"instance_id": instance.id, "number": 0})).data
    assert len(stage) == 1
    (activity,) = stage
    assert activity.name == "CreateTransaction"
    assert activity.attempt == 1 and activity.terminated and activity.error is None
    transaction = activity.input.create_transaction
    assert transaction.ledger == "default"
    (posting,) = transaction.data.postings
    assert (posting.source, posting.destination, posting.amount, posting.asset) == (
        "world",
        "users:7",
        250,
        "USD/2",
    )
    assert transaction.data.metadata == {"why": "test"}

    update = body(client.get_instance_stage_history(request={"instance_id": instance.id, "number": 1})).data
    assert update[0].name == "AddAccountMetadata"
    assert update[0].input.add_account_metadata.metadata == {"tier": "gold"}


def test_failed_send_is_reported(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    poor = {
        "send": {
            "source": {"account": {"id": "empty"}},
            "destination": {"account": {"id": "users:1"}},
            "amount": {"amount": 5, "asset": "USD/2"},
        }
    }
    instance = run(client, create(client, poor).id, wait=True)
    assert instance.terminated and instance.error
    assert instance.status[0].error
    stage = body(client.get_instance_stage_history(request={"instance_id": instance.id, "number": 0})).data
    assert stage[0].error and stage[0].terminated
    history = body(client.get_instance_history(request={"instance_id": instance.id})).data
    assert history[0].error


def test_events_complete_a_waiting_stage(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    instance = run(client, create(client, WAIT).id)
    assert not instance.terminated

    response = client.send_event(request={"instance_id": instance.id, "request_body": {"name": "other"}})
    assert response.status_code == 204
    client.send_event(request={"instance_id": instance.id, "request_body": {"name": "go"}})
    done = until_terminated(client, instance.id)
    assert done.terminated and done.error is None
    stage = body(client.get_instance_stage_history(request={"instance_id": instance.id, "number": 0})).data
    assert [a.name for a in stage] == ["IgnoreEvent", "ReceiveEvent"]

    with pytest.raises(error_type(version)) as raised:  # terminated: a conflict
        client.send_event(request={"instance_id": instance.id, "request_body": {"name": "go"}})
    assert raised.value.status_code == 409
    assert raised.value.data.error_code == "VALIDATION"


def test_abort(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    workflow = create(client, LONG_DELAY)
    instance = run(client, workflow.id)
    assert client.cancel_event(request={"instance_id": instance.id}).status_code == 204
    aborted = body(client.get_instance(request={"instance_id": instance.id})).data
    assert aborted.terminated and aborted.terminated_at is not None
    assert client.cancel_event(request={"instance_id": instance.id}).status_code == 204  # no-op

    finished = run(client, create(client, UPDATE).id, wait=True)
    with pytest.raises(error_type(version)) as raised:
        client.cancel_event(request={"instance_id": finished.id})
    assert (raised.value.status_code, raised.value.data.error_code) == (409, "VALIDATION")


def test_stage_history_out_of_range(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    instance = run(client, create(client, WAIT).id)
    not_reached: list[Any] = []
    assert body(
        client.get_instance_stage_history(request={"instance_id": instance.id, "number": 0})
    ).data == (not_reached)
    with pytest.raises(error_type(version)) as raised:
        client.get_instance_stage_history(request={"instance_id": instance.id, "number": 3})
    assert (raised.value.status_code, raised.value.data.error_code) == (404, "NOT_FOUND")  # as Formance


def test_list_instances_filters(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    waiting = create(client, WAIT)
    quick = create(client, UPDATE)
    running = run(client, waiting.id)
    done = run(client, quick.id, wait=True)

    def ids(**query: Any) -> list[str]:
        return [i.id for i in listed(client, version, "list_instances", **query)]

    assert ids() == [done.id, running.id]
    assert ids(workflow_id=quick.id) == [done.id]
    assert ids(running=True) == [running.id]
    assert ids(running=False) == [done.id, running.id]  # Formance: false does not filter
    assert ids(workflow_id=quick.id, running=True) == []
