"""Hostile or malformed requests get a 400 or a VALIDATION error, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.client import Api

PUBLISH = 'mutation($p: JSON) { publishEvent(type: "x", payload: $p) { triggerID } }'


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


async def raw(api: Api, body: str, method: str = "POST", **params: str) -> tuple[int, str]:
    async with api.session.request(
        method,
        api.url / "graphql",
        data=body.encode() if body else None,
        params=params or None,
        headers={"Content-Type": "application/json"},
    ) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize("depth", [50, 65, 990, 5000])
async def test_deeply_nested_variables(api: Api, depth: int) -> None:
    body = (
        json.dumps({"query": PUBLISH, "variables": {"p": nested(depth)}})
        if depth < 900
        else (
            '{"query": '
            + json.dumps(PUBLISH)
            + ', "variables": {"p": '
            + '{"a": ' * depth
            + "1"
            + "}" * depth
            + "}}"
        )
    )
    status, text = await raw(api, body)
    if depth <= 50:
        assert status == 200 and "errors" not in json.loads(text)
    else:  # past MAX_JSON_DEPTH (64 levels, the body's own included)
        assert status == 400 and "Unable to parse request body as JSON" in text


async def test_huge_integer_in_the_body(api: Api) -> None:
    body = '{"query": ' + json.dumps(PUBLISH) + ', "variables": {"p": {"n": ' + "9" * 5000 + "}}}"
    status, text = await raw(api, body)
    assert status == 400 and "JSON" in text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_standard_json_constants(api: Api, constant: str) -> None:
    body = '{"query": ' + json.dumps(PUBLISH) + ', "variables": {"p": {"n": ' + constant + "}}}"
    status, _ = await raw(api, body)
    assert status == 400


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_subscription_over_plain_http(api: Api, method: str) -> None:
    query = 'subscription { stageTransitions(instanceID: "x") { seq } }'
    if method == "GET":
        status, text = await raw(api, "", "GET", query=query)
    else:
        status, text = await raw(api, json.dumps({"query": query}))
    assert status == 400 and "subscriptions are not allowed" in text
