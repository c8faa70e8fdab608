"""Lists: v2 cursor pages (filters travel in the cursor), v1 whole lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from formance_sdk_python.models.orchestration import V2Error

from flowql.engine.pagination import Page, PageRequest, make_page
from flowql.rest.cursors import ListRequest
from flowql.rest.v1 import V1
from tests.api.rest_server import RestServer, api, body, listed
from tests.api.rest_server import rest_server as rest_server  # the fixture
from tests.api.test_rest_workflows import UPDATE, WAIT, create, run

pytestmark = pytest.mark.both_stores


def pages(client: Any, operation: str, **query: Any) -> list[Any]:
    """Every v2 cursor page, following `next` with the cursor alone."""
    result = [body(getattr(client, operation)(request=query)).cursor]
    while result[-1].has_more:
        assert result[-1].next
        result.append(body(getattr(client, operation)(request={"cursor": result[-1].next})).cursor)
    return result


def test_v2_workflows_page_forward_and_back(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 2)
    made = [create(client, WAIT, name=f"w{i}").id for i in range(5)]
    newest_first = list(reversed(made))

    walked = pages(client, "list_workflows", page_size=2)
    assert [len(p.data) for p in walked] == [2, 2, 1]
    assert [w.id for p in walked for w in p.data] == newest_first
    assert all(p.page_size == 2 for p in walked)
    assert walked[0].previous is None and walked[-1].next is None
    assert [p.has_more for p in walked] == [True, True, False]

    back = body(client.list_workflows(request={"cursor": walked[-1].previous})).cursor
    assert [w.id for w in back.data] == [w.id for w in walked[1].data]


def test_v2_instance_filters_survive_the_cursor(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 2)
    target = create(client, WAIT)
    other = create(client, WAIT)
    mine = [run(client, target.id).id for _ in range(3)]
    run(client, other.id)
    finished = run(client, create(client, UPDATE).id, wait=True)

    walked = pages(client, "list_instances", workflow_id=target.id, running=True, page_size=1)
    assert [i.id for p in walked for i in p.data] == list(reversed(mine))
    everything = pages(client, "list_instances", page_size=2)
    assert finished.id in {i.id for p in everything for i in p.data}
    assert sum(len(p.data) for p in everything) == 5


def test_v2_default_page_size_is_15(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 2)
    for i in range(16):
        create(client, WAIT, name=f"w{i}")
    first = body(client.list_workflows(request={})).cursor
    assert (first.page_size, len(first.data), first.has_more) == (15, 15, True)


def test_v2_page_sizes_as_formances_go_libs(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 2)
    for i in range(101):
        create(client, WAIT, name=f"w{i}")
    zero = body(client.list_workflows(request={"page_size": 0})).cursor
    assert (zero.page_size, len(zero.data)) == (15, 15)
    capped = body(client.list_workflows(request={"page_size": 1001})).cursor
    assert (capped.page_size, len(capped.data), capped.has_more) == (100, 100, True)


@pytest.mark.parametrize("query", [{"page_size": -1}, {"cursor": "not-a-cursor"}])
def test_v2_bad_paging_is_a_validation_error(rest_server: RestServer, query: dict[str, Any]) -> None:
    client = api(rest_server.sdk(), 2)
    with pytest.raises(V2Error) as raised:
        client.list_workflows(request=query)
    assert (raised.value.status_code, raised.value.data.error_code) == (400, "VALIDATION")


def test_v1_lists_are_whole(rest_server: RestServer) -> None:
    client = api(rest_server.sdk(), 1)
    made = [create(client, WAIT, name=f"w{i}").id for i in range(20)]
    assert [w.id for w in listed(client, 1, "list_workflows")] == list(reversed(made))
    started = [run(client, made[0]).id for _ in range(17)]
    assert [i.id for i in listed(client, 1, "list_instances", workflow_id=made[0])] == list(reversed(started))


async def test_v1_reads_every_engine_page() -> None:
    """v1 walks the engine's cursors to the end (here with pages of 2 over 5 rows)."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    rows = [(start + timedelta(seconds=i), f"id{i}") for i in range(5)]
    newest_first = sorted(rows, reverse=True)
    asked: list[PageRequest] = []

    async def fetch(page: PageRequest) -> Page[tuple[datetime, str]]:
        asked.append(page)
        after = [r for r in newest_first if page.after is None or r < (page.after.created_at, page.after.id)]
        return make_page(after[: page.page_size + 1], page, lambda r: r)

    async def to_json(items: Any) -> list[dict[str, Any]]:
        return [{"id": ident} for _, ident in items]

    handlers = V1.__new__(V1)  # render_list needs no engine
    response = await handlers.render_list(ListRequest(PageRequest.of(2)), fetch, to_json)
    assert response.text is not None
    assert [item["id"] for item in json.loads(response.text)["data"]] == ["id4", "id3", "id2", "id1", "id0"]
    assert len(asked) == 3
