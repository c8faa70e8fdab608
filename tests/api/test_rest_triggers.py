"""Triggers through the official Formance SDK: CRUD, occurrences, and v2's test."""

from __future__ import annotations

from typing import Any

import pytest
from formance_sdk_python.models.orchestration import V2Error

from flowql.engine.models import EventMessage
from tests.api.rest_server import RestServer, api, body, error_type, listed
from tests.api.rest_server import rest_server as rest_server  # the fixture
from tests.api.test_rest_workflows import UPDATE, create

pytestmark = pytest.mark.both_stores

USER_UPDATE = {"update": {"account": {"id": "users:${user}", "metadata": {"seen": "${amount}"}}}}


def trigger(client: Any, workflow_id: str, **fields: Any) -> Any:
    request = {"event": "DEPOSIT", "workflow_id": workflow_id} | fields
    return body(client.create_trigger(request=request)).data


def publish(server: RestServer, payload: dict[str, Any], event: str = "DEPOSIT") -> list[Any]:
    message = EventMessage(type=event, payload=payload)
    return server.run(lambda: server.engine.triggers.publish(message))


@pytest.mark.parametrize("version", [1, 2])
def test_trigger_lifecycle(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    workflow = create(client, USER_UPDATE)
    created = trigger(
        client,
        workflow.id,
        name="big deposits",
        filter_="event.amount > 100",
        vars={"user": "event.user", "amount": "event.amount"},
        version="v1",
    )
    assert (created.name, created.event, created.workflow_id, created.version) == (
        "big deposits",
        "DEPOSIT",
        workflow.id,
        "v1",
    )
    assert created.filter_ == "event.amount > 100"
    assert created.vars == {"user": "event.user", "amount": "event.amount"}
    assert body(client.read_trigger(request={"trigger_id": created.id})).data == created

    other = trigger(client, workflow.id, name="small")
    assert [t.id for t in listed(client, version, "list_triggers")] == [other.id, created.id]
    assert [t.id for t in listed(client, version, "list_triggers", name="big")] == [created.id]

    assert client.delete_trigger(request={"trigger_id": created.id}).status_code == 204
    with pytest.raises(error_type(version)) as raised:
        client.read_trigger(request={"trigger_id": created.id})
    assert (raised.value.status_code, raised.value.data.error_code) == (404, "NOT_FOUND")
    with pytest.raises(error_type(version)) as raised:
        client.delete_trigger(request={"trigger_id": created.id})
    assert raised.value.status_code == 404
    assert [t.id for t in listed(client, version, "list_triggers")] == [other.id]


@pytest.mark.parametrize("version", [1, 2])
def test_trigger_validation(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    workflow = create(client, UPDATE)
    with pytest.raises(error_type(version)) as raised:
        trigger(client, workflow.id, filter_="event.amount >")
    assert (raised.value.status_code, raised.value.data.error_code) == (400, "VALIDATION")
    assert "filter" in raised.value.data.error_message
    with pytest.raises(error_type(version)) as raised:
        trigger(client, workflow.id, vars={"user": "nobody.user"})
    assert raised.value.data.error_code == "VALIDATION"
    with pytest.raises(error_type(version)) as raised:
        trigger(client, "no-such-workflow")
    assert (raised.value.status_code, raised.value.data.error_code) == (404, "NOT_FOUND")
    with pytest.raises(error_type(version)) as raised:
        client.read_trigger(request={"trigger_id": "nope"})
    assert raised.value.status_code == 404
    with pytest.raises(error_type(version)) as raised:
        client.list_triggers_occurrences(request={"trigger_id": "nope"})
    assert raised.value.status_code == 404


@pytest.mark.parametrize("version", [1, 2])
def test_occurrences(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    workflow = create(client, USER_UPDATE)
    created = trigger(client, workflow.id, filter_="event.amount > 100", vars={"user": "event.user + ''"})
    assert publish(rest_server, {"amount": 500, "user": "9"})
    assert publish(rest_server, {"amount": 5, "user": "9"}) == []  # filtered out
    assert publish(rest_server, {"amount": 700})  # `user` is missing (nil): nil + '' is an error

    failed, started = listed(client, version, "list_triggers_occurrences", trigger_id=created.id)
    assert failed.trigger_id == started.trigger_id == created.id
    assert failed.error and "user" in failed.error and failed.workflow_instance_id is None
    assert failed.event["payload"] == {"amount": 700}  # the whole message, as Formance stores it
    assert started.error is None and started.event["payload"] == {"amount": 500, "user": "9"}
    assert started.event["type"] == failed.event["type"]
    assert started.workflow_instance_id is not None
    assert started.workflow_instance is not None
    assert started.workflow_instance.id == started.workflow_instance_id
    assert started.workflow_instance.workflow_id == workflow.id


def test_v2_occurrences_page_by_cursor(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 2)
    created = trigger(client, create(client, UPDATE).id)
    for amount in range(3):
        publish(rest_server, {"amount": amount})
    first = body(client.list_triggers_occurrences(request={"trigger_id": created.id, "page_size": 2})).cursor
    assert (len(first.data), first.has_more) == (2, True)
    second = body(
        client.list_triggers_occurrences(request={"trigger_id": created.id, "cursor": first.next})
    ).cursor
    assert (len(second.data), second.has_more) == (1, False)
    assert [o.event["payload"]["amount"] for o in first.data + second.data] == [2, 1, 0]

    names = [trigger(client, created.workflow_id, name=f"t{i}").id for i in range(3)]
    page = body(client.list_triggers(request={"name": "t", "page_size": 2})).cursor
    rest = body(client.list_triggers(request={"cursor": page.next})).cursor
    assert [t.id for t in page.data + rest.data] == list(reversed(names))  # the filter rides along


def test_v2_test_trigger(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 2)
    created = trigger(
        client,
        create(client, USER_UPDATE).id,
        filter_="event.amount > 100",
        vars={"user": "event.user", "amount": "event.amount"},
    )

    def test(payload: dict[str, Any]) -> Any:
        return body(client.test_trigger(request={"trigger_id": created.id, "request_body": payload})).data

    result = test({"amount": 500})
    assert result.filter_.match is True and result.filter_.error is None
    assert result.variables["amount"].value == "500"
    assert result.variables["user"].value == "null"  # a missing key is nil (expr-lang)

    result = test({"amount": 1})
    assert result.filter_.match is False
    assert not result.variables  # vars only when the filter matches, as Formance

    plain = trigger(client, created.workflow_id, vars={"user": "event.user"})
    raw = client.test_trigger(request={"trigger_id": plain.id, "request_body": {"user": "1"}})
    assert raw.raw_response.json()["data"]["filter"] is None  # no filter: null, as Formance
    assert listed(client, 2, "list_instances", workflow_id=created.workflow_id) == []  # started nothing
    with pytest.raises(V2Error) as raised:
        client.test_trigger(request={"trigger_id": "nope", "request_body": {}})
    assert (raised.value.status_code, raised.value.data.error_code) == (404, "NOT_FOUND")


@pytest.mark.parametrize("version", [1, 2])
def test_link_in_filters_and_vars(rest_server: RestServer, version: int) -> None:
    """docs/triggers.md's `link(event, "source_account")`, here a ledger account the event
    links by Formance's route (resolved against the embedded ledger: its metadata)."""
    client = api(rest_server.sdk(), version)
    rest_server.run(lambda: rest_server.engine.ledger.add_metadata("default", "users:7", {"role": "admin"}))
    created = trigger(
        client,
        create(client, USER_UPDATE).id,
        filter_='link(event, "source_account").metadata.role == "admin"',
        vars={"user": 'link(event, "source_account").address', "amount": "event.amount"},
    )
    assert created.filter_ == 'link(event, "source_account").metadata.role == "admin"'
    source = {"name": "source_account", "uri": "https://stack.example/api/ledger/v2/default/accounts/users:7"}
    if version == 2:
        result = body(
            client.test_trigger(
                request={"trigger_id": created.id, "request_body": {"amount": 3, "links": [source]}}
            )
        ).data
        assert result.filter_.match is True and result.filter_.error is None
        assert result.variables["user"].value == "users:7"
        result = body(
            client.test_trigger(request={"trigger_id": created.id, "request_body": {"links": []}})
        ).data
        assert result.filter_.match is False
        assert result.filter_.error == "link 'source_account' not defined for object"
    [occurrence] = publish(rest_server, {"amount": 3, "links": [source]})
    assert occurrence.error is None
    [shown] = listed(client, version, "list_triggers_occurrences", trigger_id=created.id)
    assert shown.workflow_instance_id == occurrence.workflow_instance_id
    assert publish(rest_server, {"amount": 3, "links": []}) == []  # a failing filter skips the event


@pytest.mark.parametrize("version", [1, 2])
def test_a_link_whose_relation_is_not_a_literal_is_400(rest_server: RestServer, version: int) -> None:
    client = api(rest_server.sdk(), version)
    workflow_id = create(client, USER_UPDATE).id
    with pytest.raises(error_type(version)) as raised:
        trigger(client, workflow_id, vars={"user": "link(event, event.rel).id"})
    assert raised.value.status_code == 400 and raised.value.data.error_code == "VALIDATION"
    assert "vars.user: 1:13: link(): the relation must be a string literal" in raised.value.data.error_message
    assert listed(client, version, "list_triggers") == []
