"""A page of instances with their workflows and stages costs a constant number of store queries."""

from __future__ import annotations

from typing import Any

from flowql.storage.sqlite import SqliteStore
from tests.api.conftest import ApiFactory
from tests.api.flows import create_workflow, run, send_stage
from tests.api.store_proxy import StoreProxy

PAGE = """query($first: Int) { instances(first: $first) { edges { node {
  id status workflow { id name stages }
  stages { index kind status spec definition { __typename } history { name attempt } } } }
  pageInfo { hasNextPage endCursor } } }"""


async def test_page_of_100_instances_is_a_constant_number_of_queries(
    make_api: ApiFactory, tmp_path: Any
) -> None:
    proxy = StoreProxy(SqliteStore(str(tmp_path / "loaders.db")))
    api = await make_api(store=proxy)
    workflows = [await create_workflow(api, [send_stage(i + 1)], name=f"w{i}") for i in range(10)]
    for i in range(110):
        await run(api, workflows[i % 10], wait=True)

    costs: dict[int, int] = {}
    for first in (1, 10, 100):
        proxy.reset()
        data = await api.query(PAGE, {"first": first})
        edges = data["instances"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["workflow"]["name"] and e["node"]["stages"][0]["spec"] for e in edges)
        histories = [e["node"]["stages"][0]["history"] for e in edges]
        assert histories == [[{"name": "CreateTransaction", "attempt": 1}]] * first
        costs[first] = proxy.queries
        # stage histories live beside the instances: one batched read for the whole page
        assert set(proxy.calls) == {"list_instances", "get_workflows", "get_history"}, proxy.calls
    assert costs == {1: 3, 10: 3, 100: 3}, costs
