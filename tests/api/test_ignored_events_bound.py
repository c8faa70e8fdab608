"""A waiting stage flooded with events of another name stays bounded (issue #14 item 10):
the first `MAX_IGNORED_RECORDED` are IgnoreEvent entries of its history, the rest are
counted on the stage and in `flowql_ignored_events_unrecorded_total`; the awaited event
still moves it on. Over real HTTP (the bound lowered to 3 so the test stays short)."""

from __future__ import annotations

from typing import Any

import pytest

from flowql.engine import steps
from tests.api.conftest import ApiFactory
from tests.api.test_executor_bounds import CREATE, RUN, metric, until

EVENT = "mutation E($i: ID!, $n: String!) { sendEvent(instanceID: $i, name: $n) { id } }"
STAGE = "query S($id: ID!) { instance(id: $id) { status stages { index history { name } } } }"


async def test_ignored_events_past_the_bound_are_counted_not_kept(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steps, "MAX_IGNORED_RECORDED", 3)
    api = await make_api()
    flow = (await api.query(CREATE, {"s": [{"wait_event": {"event": "go"}}]}))["createWorkflow"]["id"]
    instance_id = (await api.query(RUN, {"w": flow}))["runWorkflow"]["id"]
    for n in range(8):
        await api.query(EVENT, {"i": instance_id, "n": f"other{n}"})

    async def counted() -> bool:
        return await metric(api, "flowql_ignored_events_unrecorded_total") == 5.0

    await until(counted)
    await api.query(EVENT, {"i": instance_id, "n": "go"})

    async def done() -> dict[str, Any] | None:
        found: dict[str, Any] = (await api.query(STAGE, {"id": instance_id}))["instance"]
        return found if found["status"] == "SUCCEEDED" else None

    instance = await until(done)
    names = [entry["name"] for entry in instance["stages"][0]["history"]]
    assert names == ["IgnoreEvent"] * 3 + ["ReceiveEvent"]
    stored = await api.engine.store.get_instance(instance_id)
    assert stored is not None and stored.stages[0].ignored == 8
