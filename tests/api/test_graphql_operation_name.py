"""Several operations and no operationName: an error, not the first one run (found by
tests/e2e/test_graphql_fuzz.py; GraphQL spec 6.1 GetOperation)."""

from __future__ import annotations

import pytest

from tests.api.client import LEGACY_WS, TRANSPORT_WS, Api
from tests.api.flows import create_workflow, send_stage

TWO = 'mutation A { deleteWorkflow(id: "%s") { id } } query B { serverInfo { version } }'


async def test_missing_name_is_refused_and_runs_nothing(api: Api) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    error = await api.error(TWO % workflow)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"] == "Must provide operation name if query contains multiple operations."
    assert (await api.query("query($id: ID!) { workflow(id: $id) { id } }", {"id": workflow}))["workflow"]


async def test_named_operation_runs(api: Api) -> None:
    workflow = await create_workflow(api, [send_stage(1)])
    data = await api.query(TWO % workflow, operation_name="B")
    assert data["serverInfo"]["version"]
    assert (await api.query(TWO % workflow, operation_name="A"))["deleteWorkflow"]["id"] == workflow


async def test_single_operation_needs_no_name(api: Api) -> None:
    assert (await api.query("query Only { serverInfo { version } }"))["serverInfo"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_over_websocket(api: Api, protocol: str) -> None:
    document = (
        'subscription A { stageTransitions(instanceID: "x") { seq } } '
        'subscription B { instanceUpdated(id: "x") { id } }'
    )
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    async with api.session.ws_connect(api.ws_url, protocols=[protocol]) as ws:
        await ws.send_json({"type": "connection_init"})
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": start, "payload": {"query": document}})
        message = await ws.receive_json(timeout=5)
        while message["type"] == "ka":
            message = await ws.receive_json(timeout=5)
    errors = message["payload"] if isinstance(message["payload"], list) else message["payload"]["errors"]
    assert errors[0]["message"].startswith("Must provide operation name")
