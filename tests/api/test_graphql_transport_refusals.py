"""Requests refused before any GraphQL execution (found by tests/e2e/test_graphql_fuzz.py).

Every refusal is a GraphQL error body with `extensions.code` VALIDATION and the transport's
status (400, 413), never a 500 or a plain-text reason; lone UTF-16 surrogates are refused
at the door (they reached SQLite and pydantic, which cannot encode them: INTERNAL).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.api.client import TRANSPORT_WS, Api

INSTANCE = "query($id: ID!) { instance(id: $id) { id } }"
WALLET = 'mutation($m: JSON) { createWallet(name: "w", metadata: $m) { id } }'


async def post(api: Api, body: bytes | str, content_type: str = "application/json") -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    async with api.session.post(
        api.url / "graphql", data=data, headers={"Content-Type": content_type}
    ) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, await resp.json()


def refusal(body: Any) -> str:
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION", body
    message: str = error["message"]
    return message


@pytest.mark.parametrize(
    ("variables", "query"),
    [
        ('{"id": "\\ud800"}', INSTANCE),
        ('{"id": "x\\udfffy"}', INSTANCE),
        ('{"m": {"\\udc00": "x"}}', WALLET),  # a key: was stored, then unreadable
        ('{"m": {"k": ["\\ud83d"]}}', WALLET),
    ],
)
async def test_lone_surrogates_are_refused(api: Api, variables: str, query: str) -> None:
    status, body = await post(api, '{"query": ' + json.dumps(query) + ', "variables": ' + variables + "}")
    assert status == 400 and "surrogate" in refusal(body)
    assert await api.engine.store.get_wallet_by_name("default", "w") is None


async def test_surrogate_pairs_are_fine(api: Api) -> None:
    status, body = await post(
        api, '{"query": ' + json.dumps(WALLET) + ', "variables": {"m": {"e": "\\ud83d\\ude00"}}}'
    )
    assert status == 200 and "errors" not in body


async def test_lone_surrogate_in_a_websocket_message_closes_it_as_invalid(api: Api) -> None:
    async with api.session.ws_connect(api.ws_url, protocols=[TRANSPORT_WS]) as ws:
        await ws.send_str('{"type": "connection_init"}')
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_str(
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription($id: ID!) '
            '{ stageTransitions(instanceID: $id) { seq } }", "variables": {"id": "\\ud800"}}}'
        )
        message = await ws.receive()
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4400


@pytest.mark.parametrize("body", ["null", "5", '"query"', "true"])
async def test_a_body_that_is_not_an_object(api: Api, body: str) -> None:
    status, answer = await post(api, body)
    assert status == 400 and "must be a JSON object" in refusal(answer)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        ("{query", "application/json", 400, "Unable to parse request body as JSON"),
        (b'{"query": "{ serverInfo { version } }", "x": "\xff"}', "application/json", 400, "not UTF-8"),
        ('{"query": "{ serverInfo { version } }", "variables": [1]}', "application/json", 400, "variables"),
        ('{"variables": {}}', "application/json", 400, "No GraphQL query"),
        ('[{"query": "{ serverInfo { version } }"}]', "application/json", 400, "Batching"),
        ("query={serverInfo{version}}", "text/plain", 400, "content type"),
        (
            json.dumps({"query": "{ serverInfo { version } }", "pad": "x" * 2_000_000}),
            "application/json",
            413,
            "size",
        ),
    ],
)
async def test_refusals_are_graphql_error_bodies(
    api: Api, body: str | bytes, content_type: str, status: int, reason: str
) -> None:
    answered, answer = await post(api, body, content_type)
    assert answered == status and reason in refusal(answer)
    assert answer["data"] is None


async def test_mutation_over_get_is_a_graphql_error_body(api: Api) -> None:
    params = {"query": 'mutation { deleteTrigger(id: "x") { id } }'}
    async with api.session.get(
        api.url / "graphql", params=params, headers={"Accept": "application/json"}
    ) as resp:
        assert resp.status == 400
        assert "not allowed" in refusal(await resp.json())
