"""Bearer auth: off by default; read scope for queries/subscriptions, write for mutations."""

from __future__ import annotations

import pytest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError

from flowql.config import parse_tokens
from tests.api.client import LEGACY_WS, TRANSPORT_WS, Api, collect
from tests.api.conftest import ApiFactory
from tests.api.flows import TRANSITIONS, create_workflow, run, send_stage

TOKENS = parse_tokens(
    "reader:orchestration:read writer:orchestration:write admin:orchestration:read,orchestration:write"
)
QUERY = "{ workflows { edges { cursor } } }"
MUTATION = 'mutation { createWallet(name: "w") { id } }'


@pytest.fixture
async def secured(make_api: ApiFactory) -> Api:
    return await make_api(auth_tokens=TOKENS)


async def test_off_by_default(api: Api) -> None:
    await api.query(QUERY)
    await api.query(MUTATION)


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_missing_or_unknown_token_is_unauthenticated(secured: Api, token: str | None) -> None:
    for document in (QUERY, MUTATION):
        body = await secured.post(document, token=token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_scopes(secured: Api) -> None:
    await secured.query(QUERY, token="reader")
    forbidden = await secured.error(MUTATION, token="reader")
    assert forbidden["extensions"] == {"code": "FORBIDDEN", "scope": "orchestration:write"}
    await secured.query(MUTATION, token="writer")
    assert (await secured.error(QUERY, token="writer"))["extensions"]["code"] == "FORBIDDEN"
    await secured.query(QUERY, token="admin")
    await secured.query(MUTATION.replace('"w"', '"w2"'), token="admin")


async def test_scheme_must_be_bearer(secured: Api) -> None:
    async with secured.session.post(
        secured.url / "graphql", json={"query": QUERY}, headers={"Authorization": "Basic admin"}
    ) as resp:
        body = await resp.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_subscriptions_need_read_scope(secured: Api, protocol: str) -> None:
    secured.token = "admin"
    workflow = await create_workflow(secured, [send_stage(1)])
    instance = await run(secured, workflow, wait=True)
    secured.token = None
    variables = {"id": instance["id"]}
    # Without a valid token, connection_init is not acked: the socket closes with 4403 (#14).
    with pytest.raises(TransportConnectionFailed) as failed:
        async with secured.ws(protocol, init_payload={}) as session:
            await collect(session, TRANSITIONS, variables)
    assert "4403" in repr(failed.value.__cause__) + str(failed.value)
    async with secured.ws(protocol, init_payload={"Authorization": "Bearer writer"}) as session:
        with pytest.raises(TransportQueryError) as error:
            await collect(session, TRANSITIONS, variables)
    assert error.value.errors is not None and error.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    async with secured.ws(protocol, init_payload={"Authorization": "Bearer reader"}) as session:
        assert len(await collect(session, TRANSITIONS, variables)) == 2
