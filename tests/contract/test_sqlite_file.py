"""A SQLite file keeps everything across close and reopen."""

from __future__ import annotations

from pathlib import Path

from flowql.engine.pagination import PageRequest
from flowql.storage.sqlite import SqliteStore

from .factories import instance, posting, transition, workflow


async def test_reopening_the_file_keeps_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "flowql.db")
    store = SqliteStore(path)
    await store.open()
    wf = workflow()
    inst = instance(wf.id)
    await store.insert_workflow(wf)
    await store.insert_instance(inst, [transition(inst, 1)])
    await store.post(posting("r", "world", "users:1", 42))
    await store.close()

    reopened = SqliteStore(path)
    await reopened.open()
    assert await reopened.get_workflow(wf.id) == wf
    assert await reopened.get_instance(inst.id) == inst
    assert len(await reopened.list_transitions(inst.id)) == 1
    assert (await reopened.get_account("default", "users:1")).balances == {"USD/2": 42}
    assert len((await reopened.list_instances(PageRequest(10))).items) == 1
    await reopened.close()
