"""Every error carries extensions.code; messages name the field; nothing internal leaks."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from flowql.stores import create_store
from tests.api.client import Api
from tests.api.conftest import ApiFactory
from tests.api.flows import CANCEL, CREATE, SEND, create_workflow, run, send_stage
from tests.api.store_proxy import StoreProxy
from tests.support.stores import StoreUris

pytestmark = pytest.mark.both_stores

SECRET = "password=hunter2 at /var/lib/flowql/secret.db"


async def test_a_stage_missing_a_field_is_refused_by_the_schema(api: Api) -> None:
    stages = [{"delay": {"duration": "1s"}}, {"send": {"source": {"account": {"id": "world"}}}}]
    error = await api.error(CREATE, {"w": {"name": "bad", "stages": stages}})
    assert error["extensions"]["code"] == "VALIDATION"
    assert "stages[1].send" in error["message"] and "'destination'" in error["message"]


async def test_validation_error_names_the_stage_field(api: Api) -> None:
    stages = [{"delay": {"duration": "1s"}}, send_stage(5, asset="dollars")]
    error = await api.error(CREATE, {"w": {"name": "bad", "stages": stages}})
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"].startswith("stages[1].send.amount")
    assert error["extensions"]["field"].startswith("stages[1].send.amount")
    assert error["path"] == ["createWorkflow"]


async def test_unknown_stage_kind(api: Api) -> None:
    error = await api.error(CREATE, {"w": {"stages": [{"teleport": {"to": "mars"}}]}})
    assert error["extensions"]["code"] == "VALIDATION" and "stages[0]" in error["message"]
    assert "'teleport'" in error["message"]


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query($id: ID!) { workflow(id: $id) { id } }", {"id": "nope"}),
        ("query($id: ID!) { instance(id: $id) { id } }", {"id": "nope"}),
        ("query($id: ID!) { wallet(id: $id) { id } }", {"id": "nope"}),
        ("query($id: ID!) { trigger(id: $id) { id } }", {"id": "nope"}),
        ("mutation($id: ID!) { cancelInstance(id: $id) { id } }", {"id": "nope"}),
        ('mutation($id: ID!) { sendEvent(instanceID: $id, name: "go") { id } }', {"id": "nope"}),
        ("mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }", {"id": "nope"}),
        ("mutation($id: ID!) { deleteWorkflow(id: $id) { id } }", {"id": "nope"}),
        ("mutation($id: ID!) { deleteTrigger(id: $id) { id } }", {"id": "nope"}),
    ],
)
async def test_not_found(api: Api, document: str, variables: dict[str, Any]) -> None:
    error = await api.error(document, variables)
    assert error["extensions"]["code"] == "NOT_FOUND", error
    assert "'nope'" in error["message"]


async def test_conflicts(api: Api) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    done = await run(api, workflow, wait=True)
    assert done["status"] == "SUCCEEDED"
    error = await api.error(CANCEL, {"id": done["id"]})
    assert error["extensions"]["code"] == "CONFLICT" and "SUCCEEDED" in error["message"]
    error = await api.error(SEND, {"id": done["id"], "name": "go"})
    assert error["extensions"]["code"] == "CONFLICT"


async def test_cancel_twice_is_a_no_op(api: Api) -> None:
    workflow = await create_workflow(api, [{"wait_event": {"event": "never"}}])
    instance = await run(api, workflow)
    first = (await api.query(CANCEL, {"id": instance["id"]}))["cancelInstance"]
    second = (await api.query(CANCEL, {"id": instance["id"]}))["cancelInstance"]
    assert first["status"] == second["status"] == "CANCELLED"
    assert first["stages"][-1]["status"] == "CANCELLED"


@pytest.mark.parametrize(
    ("document", "variables", "text"),
    [
        ("{ workflows(first: 0) { edges { cursor } } }", {}, "first: must be between 1 and 1000"),
        ("{ workflows(first: 1001) { edges { cursor } } }", {}, "first: must be between 1 and 1000"),
        ('{ workflows(after: "garbage") { edges { cursor } } }', {}, "after: invalid"),
        (
            "mutation($id: ID!) { runWorkflow(workflowID: $id, variables: [1]) { id } }",
            {"id": "x"},
            "variables",
        ),
        ('{ account(address: "not an address") { address } }', {}, "address"),
        ("{ nope }", {}, "nope"),
        ("{ serverInfo { version ", {}, "Syntax Error"),
        ('mutation { createWallet(name: "") { id } }', {}, "name"),
    ],
)
async def test_client_mistakes_are_validation(
    api: Api, document: str, variables: dict[str, Any], text: str
) -> None:
    error = await api.error(document, variables)
    assert error["extensions"]["code"] == "VALIDATION", error
    assert text in error["message"]


async def test_variables_must_be_strings(api: Api) -> None:
    workflow = await create_workflow(api, [send_stage("${amount}")])
    error = await api.error(
        "mutation($id: ID!, $v: JSON) { runWorkflow(workflowID: $id, variables: $v) { id } }",
        {"id": workflow, "v": {"amount": {"nested": True}}},
    )
    assert error["extensions"] == {"code": "VALIDATION", "field": "variables.amount"}


async def test_forced_internal_failure_reveals_nothing(
    make_api: ApiFactory, store_uris: StoreUris, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = StoreProxy(create_store(store_uris.new()))
    api = await make_api(store=proxy)
    workflow = await create_workflow(api, [send_stage(1)])
    proxy.failures["get_instance"] = RuntimeError(SECRET)
    proxy.failures["get_workflow"] = RuntimeError(SECRET)

    with caplog.at_level(logging.ERROR, logger="flowql.resolvers.errors"):
        body = await api.post(
            "query($id: ID!) { workflow(id: $id) { id } instance(id: $id) { id } serverInfo { version } }",
            {"id": workflow},
        )
    raw = json.dumps(body)
    assert "hunter2" not in raw and "Traceback" not in raw and "RuntimeError" not in raw
    assert body["data"]["serverInfo"]["version"], "other fields still answer"
    assert body["data"]["workflow"] is None
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"INTERNAL"}
    assert {e["message"] for e in body["errors"]} == {"internal error"}
    # Logged server-side with the traceback, under the id the client got.
    ids = {e["extensions"]["errorId"] for e in body["errors"]}
    logged = [r for r in caplog.records if getattr(r, "error_id", None) in ids]
    assert len(logged) == 2 and all(r.exc_info for r in logged)
    assert any("hunter2" in str(r.exc_info[1]) for r in logged if r.exc_info)


async def test_internal_failure_in_a_subscription(make_api: ApiFactory, store_uris: StoreUris) -> None:
    proxy = StoreProxy(create_store(store_uris.new()))
    api = await make_api(store=proxy)
    workflow = await create_workflow(api, [send_stage(1)])
    instance = await run(api, workflow, wait=True)
    proxy.failures["list_transitions"] = RuntimeError(SECRET)
    from gql.transport.exceptions import TransportQueryError

    from tests.api.client import collect
    from tests.api.flows import TRANSITIONS

    async with api.ws() as session:
        with pytest.raises(TransportQueryError) as caught:
            await collect(session, TRANSITIONS, {"id": instance["id"]})
    assert "hunter2" not in str(caught.value)
    assert caught.value.errors is not None and caught.value.errors[0]["extensions"]["code"] == "INTERNAL"
