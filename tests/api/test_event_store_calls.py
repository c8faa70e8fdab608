"""What a sendEvent costs the store: a constant number of calls, none of them repeated reads."""

from __future__ import annotations

from typing import Any

from flowql.storage.sqlite import SqliteStore
from tests.api.conftest import ApiFactory
from tests.api.flows import SEND, create_workflow, run
from tests.api.store_proxy import StoreProxy


async def test_send_event_reads_the_instance_once_before_and_once_after(
    make_api: ApiFactory, tmp_path: Any
) -> None:
    proxy = StoreProxy(SqliteStore(str(tmp_path / "events.db")))
    api = await make_api(store=proxy)
    stages = [{"wait_event": {"event": "a"}}, {"wait_event": {"event": "b"}}]
    workflow = await create_workflow(api, stages)
    instance = (await run(api, workflow))["id"]
    await api.engine.executor.drain()  # the first stage is waiting for "a"

    proxy.reset()
    data = await api.query(SEND, {"id": instance, "name": "a"})
    assert data["sendEvent"]["status"] == "RUNNING"
    await api.engine.executor.drain()
    # sendEvent: the instance before (may it take the event?) and after (what it changed);
    # the executor: the inbox of each wait_event stage it enters (the one the event ends,
    # the next one), one commit; the instance it blocked at was kept as saved (no read).
    assert dict(proxy.calls) == {
        "get_instance": 2,
        "append_event": 1,
        "list_inbox": 2,
        "save_instance": 1,
    }, proxy.calls

    proxy.reset()
    data = await api.query(SEND, {"id": instance, "name": "b"})
    assert data["sendEvent"]["status"] == "SUCCEEDED"
    assert proxy.calls["get_instance"] == 2, proxy.calls
