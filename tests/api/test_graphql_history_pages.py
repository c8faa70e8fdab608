"""Stage histories and transitions in pages: `Stage.history(first, after)`,
`Instance.stageHistory(stage, first, after)`, `Instance.history(first, afterSeq)`."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.client import Api
from tests.api.flows import create_workflow, run, send

pytestmark = pytest.mark.both_stores

STAGE = """query($id: ID!, $first: Int, $after: Int) { instance(id: $id) {
  stages { index history(first: $first, after: $after) { name input terminated } }
  stageHistory(stage: 0, first: $first, after: $after) { name }
  history(first: $first, afterSeq: $after) { seq status } } }"""


async def _ignored_then_received(api: Api, noise: int) -> str:
    workflow = await create_workflow(api, [{"wait_event": {"event": "go"}}], name="pages")
    instance_id: str = (await run(api, workflow))["id"]
    for n in range(noise):
        await send(api, instance_id, f"noise-{n}")
    await send(api, instance_id, "go")
    for _ in range(200):  # sendEvent returns once the stage took "go"; the commit may follow
        data = await api.query(STAGE, {"id": instance_id})
        if [a["name"] for a in data["instance"]["stageHistory"]][-1:] == ["ReceiveEvent"]:
            break
        await asyncio.sleep(0.05)
    return instance_id


async def test_a_stage_history_is_read_in_pages(api: Api) -> None:
    instance_id = await _ignored_then_received(api, 5)
    everything = (await api.query(STAGE, {"id": instance_id}))["instance"]
    whole = everything["stages"][0]["history"]
    assert [a["name"] for a in whole] == ["IgnoreEvent"] * 5 + ["ReceiveEvent"]
    assert [a["input"]["name"] for a in whole] == [f"noise-{n}" for n in range(5)] + ["go"]
    assert [a["name"] for a in everything["stageHistory"]] == [a["name"] for a in whole]

    page = (await api.query(STAGE, {"id": instance_id, "first": 2, "after": 2}))["instance"]
    assert [a["input"]["name"] for a in page["stages"][0]["history"]] == ["noise-2", "noise-3"]
    assert [a["name"] for a in page["stageHistory"]] == ["IgnoreEvent", "IgnoreEvent"]
    assert [t["seq"] for t in page["history"]] == [3]  # RUNNING, WAITING, then SUCCEEDED (seq 3)
    tail = (await api.query(STAGE, {"id": instance_id, "first": 10, "after": 5}))["instance"]
    assert [a["name"] for a in tail["stages"][0]["history"]] == ["ReceiveEvent"]
    past = (await api.query(STAGE, {"id": instance_id, "after": 6}))["instance"]
    assert past["stages"][0]["history"] == [] and past["history"] == []


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"first": 0}, "first"), ({"first": 1001}, "first"), ({"after": -1}, "after")],
)
async def test_page_arguments_out_of_range_are_validation_errors(
    api: Api, variables: dict[str, int], field: str
) -> None:
    workflow = await create_workflow(api, [{"wait_event": {"event": "go"}}], name="bad-pages")
    instance_id = (await run(api, workflow))["id"]
    query = """query($id: ID!, $first: Int, $after: Int) { instance(id: $id) {
      stages { history(first: $first, after: $after) { name } } } }"""
    error = await api.error(query, {"id": instance_id, **variables})
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == field
    bad_seq = await api.error(
        "query($id: ID!, $s: Int) { instance(id: $id) { history(afterSeq: $s) { seq } } }",
        {"id": instance_id, "s": -1},
    )
    assert (bad_seq["extensions"]["code"], bad_seq["extensions"]["field"]) == ("VALIDATION", "afterSeq")
