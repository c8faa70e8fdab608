"""Bounded inputs (issue #14 item 5): names, addresses, ledgers and metadata have lengths and
Formance's shapes; GraphQL and REST refuse the same inputs, naming the field, and a refused
request writes nothing. Over real HTTP, on the real app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.client import Api
from tests.api.conftest import ApiFactory
from tests.api.test_executor_bounds import until

CREATE = "mutation C($n: String, $s: [StageInput!]!) { createWorkflow(input: {name: $n, stages: $s}) { id } }"
RUN = "mutation R($w: ID!, $v: JSON) { runWorkflow(workflowID: $w, variables: $v) { id } }"
WALLET = """mutation W($n: String!, $l: String!, $m: JSON) {
  createWallet(name: $n, ledger: $l, metadata: $m) { id } }"""
COUNTS = 'query { workflows { edges { node { id } } } wallets(ledger: "default") { edges { node { id } } } }'


def send(**change: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:1"}},
        "amount": {"amount": "1", "asset": "USD/2"},
    }
    for path, value in change.items():
        *parents, last = path.split("__")
        node = spec
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return {"send": spec}


S, U = "stages[0].send.", "stages[0].update.account."
BAD_ADDRESS, BAD_LEDGER = "invalid account address", "invalid ledger name"
UPDATE_LEDGER = {"update": {"account": {"id": "users:1", "ledger": "a b", "metadata": {}}}}
UPDATE_VALUE = {"update": {"account": {"id": "users:1", "metadata": {"x": "y" * 5000}}}}
# (stages, field the refusal names, words of its message)
REFUSED_STAGES = [
    ([send(destination__account__id="users:1 OR 1=1")], S + "destination.account.id", BAD_ADDRESS),
    ([send(destination__account__id="users::1")], S + "destination.account.id", BAD_ADDRESS),
    ([send(destination__account__id="a:" * 600 + "a")], S + "destination.account.id", "at most 1024"),
    ([send(source__account__throughAccount="th rough")], S + "source.account.throughAccount", BAD_ADDRESS),
    ([send(source__account__ledger="x" * 64)], S + "source.account.ledger", BAD_LEDGER),
    ([send(source__account__ledger="main.eu")], S + "source.account.ledger", BAD_LEDGER),
    ([send(metadata={"note": "v" * 4097})], S + "metadata", "at most 4096"),
    ([send(metadata={"k" * 257: "v"})], S + "metadata", "keys of 1 to 256"),
    ([send(metadata={f"k{i}": "v" for i in range(257)})], S + "metadata", "at most 256 entries"),
    ([send(metadata={"a\x00b": "v"})], S + "metadata", "NUL"),
    ([{"wait_event": {"event": "e" * 257}}], "stages[0].wait_event.event", "at most 256"),
    ([UPDATE_LEDGER], U + "ledger", BAD_LEDGER),
    ([UPDATE_VALUE], U + "metadata", "at most 4096"),
]
WALLET_SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"wallet": {"name": "w" * 257}},
        "amount": {"amount": "1", "asset": "USD/2"},
    }
}
REFUSED_STAGES.append(([WALLET_SEND], "stages[0].send.destination.wallet.name", "at most 256"))
BAD_BALANCE = {"send": {**WALLET_SEND["send"], "destination": {"wallet": {"name": "w", "balance": "a:b"}}}}
REFUSED_STAGES.append(([BAD_BALANCE], "stages[0].send.destination.wallet.balance", "invalid balance name"))
IDS = [field.removeprefix("stages[0].") + f"-{i}" for i, (_, field, _) in enumerate(REFUSED_STAGES)]


async def nothing_written(api: Api) -> None:
    counts = await api.query(COUNTS)
    assert counts["workflows"]["edges"] == [] and counts["wallets"]["edges"] == []


@pytest.mark.parametrize(("stages", "field", "words"), REFUSED_STAGES, ids=IDS)
async def test_graphql_refuses_unbounded_stages(
    make_api: ApiFactory, stages: list[dict[str, Any]], field: str, words: str
) -> None:
    api = await make_api()
    error = await api.error(CREATE, {"s": stages})
    assert error["extensions"] == {"code": "VALIDATION", "field": field}
    assert words in error["message"]
    await nothing_written(api)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(("stages", "field", "words"), REFUSED_STAGES, ids=IDS)
async def test_rest_refuses_unbounded_stages(
    make_api: ApiFactory, version: int, stages: list[dict[str, Any]], field: str, words: str
) -> None:
    api = await make_api()
    status, body = await rest(api, version, "POST", "/workflows", {"name": "wf", "stages": stages})
    assert status == 400
    assert body["errorCode"] == "VALIDATION"
    assert body["errorMessage"].startswith(field + ":") and words in body["errorMessage"]
    await nothing_written(api)


async def test_names_are_bounded_on_both_apis(make_api: ApiFactory) -> None:
    api = await make_api()
    stages = [{"wait_event": {"event": "go"}}]
    error = await api.error(CREATE, {"n": "n" * 257, "s": stages})
    assert error["extensions"] == {"code": "VALIDATION", "field": "name"}
    status, body = await rest(api, 2, "POST", "/workflows", {"name": "n" * 257, "stages": stages})
    assert (status, body["errorCode"]) == (400, "VALIDATION") and body["errorMessage"].startswith("name:")
    await nothing_written(api)

    flow = (await api.query(CREATE, {"n": "n" * 256, "s": stages}))["createWorkflow"]["id"]
    instance_id = (await api.query(RUN, {"w": flow}))["runWorkflow"]["id"]
    event = "mutation E($i: ID!, $n: String!) { sendEvent(instanceID: $i, name: $n) { id } }"
    error = await api.error(event, {"i": instance_id, "n": "e" * 257})
    assert error["extensions"] == {"code": "VALIDATION", "field": "name"}
    path = f"/instances/{instance_id}/events"
    status, body = await rest(api, 1, "POST", path, {"name": "e" * 257})
    assert (status, body["errorCode"]) == (400, "VALIDATION")
    assert await api.engine.store.list_inbox(instance_id) == []

    publish = "mutation P($t: String!) { publishEvent(type: $t) { id } }"
    error = await api.error(publish, {"t": "t" * 257})
    assert error["extensions"]["code"] == "VALIDATION" and error["extensions"]["field"] == "type"


@pytest.mark.parametrize(
    ("name", "ledger", "metadata", "field"),
    [
        ("w" * 257, "default", None, "name"),
        ("   ", "default", None, "name"),
        ("w", "de fault", None, "ledger"),
        ("w", "l" * 64, None, "ledger"),
        ("w", "", None, "ledger"),
        ("w", "default", {"k": "v" * 4097}, "metadata"),
        ("w", "default", {"": "v"}, "metadata"),
        ("w", "default", {"\x00": "\x00"}, "metadata"),  # the fuzzer's, half-written on MongoDB
    ],
)
async def test_wallet_inputs_are_bounded(
    make_api: ApiFactory, name: str, ledger: str, metadata: dict[str, str] | None, field: str
) -> None:
    api = await make_api()
    error = await api.error(WALLET, {"n": name, "l": ledger, "m": metadata})
    assert error["extensions"] == {"code": "VALIDATION", "field": field}
    await nothing_written(api)


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (
            'query Q($n: String) { wallets(ledger: "default", name: $n) { edges { node { id } } } }',
            {"n": "x" * 257},
            "name",
        ),
        ("query Q($l: String!) { wallets(ledger: $l) { edges { node { id } } } }", {"l": "l" * 64}, "ledger"),
        (
            "query Q($n: String) { triggers(name: $n) { edges { node { id } } } }",
            {"n": "x" * 400_000},
            "name",
        ),
    ],
    ids=["wallet-name", "wallet-ledger", "trigger-name"],
)
async def test_list_filters_are_bounded(
    make_api: ApiFactory, query: str, variables: dict[str, str], field: str
) -> None:
    """A filter longer than any name could be matches nothing: refused before a store scans
    for it (the fuzzer's 400 KB substring took 22 s against FerretDB)."""
    api = await make_api()
    error = await api.error(query, variables)
    assert error["extensions"] == {"code": "VALIDATION", "field": field}
    at_the_bound = await api.query(
        query, {key: value[:256] if key == "n" else "l" * 63 for key, value in variables.items()}
    )
    assert next(iter(at_the_bound.values()))["edges"] == []


async def test_limits_admit_their_bound(make_api: ApiFactory) -> None:
    """At the bound exactly, everything is accepted and runs (the tests above can fail)."""
    api = await make_api()
    ledger = "L" * 63
    await api.query(WALLET, {"n": "w" * 256, "l": ledger, "m": {"k" * 256: "v" * 4096}})
    address = ":".join(["a" * 99] * 10) + ":" + "b" * 23  # 1,023 characters
    metadata = {f"k{i}": "v" for i in range(255)} | {"k" * 256: "v" * 4096}
    stages = [
        send(
            destination__account__id=address,
            source__account__ledger=ledger,
            destination__account__ledger=ledger,
            metadata=metadata,
        )
    ]
    flow = (await api.query(CREATE, {"n": "n" * 256, "s": stages}))["createWorkflow"]["id"]
    instance_id = (await api.query(RUN, {"w": flow}))["runWorkflow"]["id"]
    instance = await until(lambda: finished(api, instance_id))
    assert instance["status"] == "SUCCEEDED", instance


async def finished(api: Api, instance_id: str) -> dict[str, Any] | None:
    query = "query I($id: ID!) { instance(id: $id) { status error } }"
    found: dict[str, Any] = (await api.query(query, {"id": instance_id}))["instance"]
    return found if found["status"] != "RUNNING" else None


@pytest.mark.parametrize(
    ("stage", "variables", "words"),
    [
        (
            send(destination__account__id="users:${u}"),
            {"u": "1 2"},
            "stages[0].send.destination.account.id: invalid",
        ),
        (
            send(source__account__ledger="${l}"),
            {"l": "${x}"},
            "stages[0].send.source.account.ledger: invalid",
        ),
        (
            send(metadata={"k": "${v}${v}"}),
            {"v": "v" * 4000},
            "stages[0].send.metadata: 'k': values of at most",
        ),
        ({"wait_event": {"event": "${e}"}}, {"e": "e" * 300}, "stages[0].wait_event.event: at most 256"),
    ],
)
async def test_interpolated_values_are_checked_when_the_stage_runs(
    make_api: ApiFactory, stage: dict[str, Any], variables: dict[str, str], words: str
) -> None:
    """A template passes at create time; what it expands to fails the stage, and nothing is posted."""
    api = await make_api()
    flow = (await api.query(CREATE, {"s": [stage]}))["createWorkflow"]["id"]
    instance_id = (await api.query(RUN, {"w": flow, "v": variables}))["runWorkflow"]["id"]
    instance = await until(lambda: finished(api, instance_id))
    assert instance["status"] == "FAILED"
    assert instance["error"].startswith("VALIDATION") and words in instance["error"], instance["error"]
    postings = 'query { account(address: "users:1") { balances { amount } } }'
    assert (await api.query(postings))["account"]["balances"] == []


async def rest(api: Api, version: int, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    prefix = "api/orchestration/v2" if version == 2 else "api/orchestration"
    url = api.url / prefix / path.lstrip("/")
    async with api.session.request(method, url, json=body) as response:
        answer: dict[str, Any] = await response.json() if response.status != 204 else {}
        return response.status, answer
