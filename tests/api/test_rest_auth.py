"""Bearer tokens and scopes on the REST layer: GET needs read, the rest needs write."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from formance_sdk_python.models.errors import SDKBaseError

from flowql.config import AuthToken
from tests.api.rest_server import RestServer, api, body, flowql_app, serve

TOKENS = (
    AuthToken("reader", frozenset({"orchestration:read"})),
    AuthToken("writer", frozenset({"orchestration:read", "orchestration:write"})),
    AuthToken("blind", frozenset({"orchestration:write"})),
)
WAIT = {"wait_event": {"event": "go"}}


@pytest.fixture
def secured() -> Iterator[RestServer]:
    with serve(lambda: flowql_app(auth_tokens=TOKENS)) as server:
        yield server


@pytest.mark.parametrize("version", [1, 2])
def test_scopes(secured: RestServer, version: int) -> None:
    writer = api(secured.sdk("writer"), version)
    created = body(writer.create_workflow(request={"stages": [WAIT]})).data
    assert body(writer.get_workflow(request={"flow_id": created.id})).data.id == created.id

    reader = api(secured.sdk("reader"), version)
    assert body(reader.get_workflow(request={"flow_id": created.id})).data.id == created.id
    with pytest.raises(SDKBaseError) as raised:
        reader.create_workflow(request={"stages": [WAIT]})
    assert raised.value.status_code == 403

    blind = api(secured.sdk("blind"), version)
    with pytest.raises(SDKBaseError) as raised:
        blind.get_workflow(request={"flow_id": created.id})
    assert raised.value.status_code == 403

    for anonymous in (api(secured.sdk(), version), api(secured.sdk("forged"), version)):
        with pytest.raises(SDKBaseError) as raised:
            anonymous.get_workflow(request={"flow_id": created.id})
        assert raised.value.status_code == 401
        assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_errors_keep_formance_shape_and_documents_stay_public(secured: RestServer) -> None:
    response = httpx.get(secured.url + "/api/orchestration/v2/workflows")
    assert response.status_code == 401
    assert set(response.json()) == {"errorCode", "errorMessage"}
    for path in ("/api/orchestration/openapi.json", "/api/orchestration/v2/openapi.json"):
        assert httpx.get(secured.url + path).status_code == 200
