"""A SQLite file keeps everything across close and reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flowql.engine.models import InstanceStatus
from flowql.engine.pagination import PageRequest
from flowql.storage.sqlite import SqliteStore

from .factories import at, inbox_event, instance, occurrence, posting, transition, trigger, wallet, workflow


async def test_reopening_the_file_keeps_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "flowql.db")
    store = SqliteStore(path)
    await store.open()
    wf = workflow()
    inst = instance(wf.id, transition_count=1)
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


async def test_reopening_keeps_timers_triggers_inbox_and_ledger(tmp_path: Path) -> None:
    path = str(tmp_path / "flowql.db")
    store = SqliteStore(path)
    await store.open()
    await store.insert_workflow(workflow(ident="wf"))
    await store.delete_workflow("wf", at(3))
    inst = instance("wf", ident="i1", wake_at=at(40), transition_count=1)
    await store.insert_instance(inst, [transition(inst, 1)])
    two = inst.model_copy(update={"transition_count": 2})
    saved = await store.save_instance(two, expected_version=0, transitions=[transition(inst, 2)])
    await store.append_event(inbox_event("i1", "go", 2, ident="e1"))
    await store.insert_trigger(trigger("wf", name="payments", ident="t1"))
    await store.insert_occurrence(occurrence("t1", event_id="ev1"))
    await store.post(posting("r1", "world", "users:1", 2**70))
    await store.set_account_metadata("default", "users:1", {"k": "v"})
    await store.insert_wallet(wallet("w1", "main"))
    await store.close()

    for _ in range(2):  # reopening twice: open() on an existing file changes nothing
        store = SqliteStore(path)
        await store.open()
        try:
            deleted = await store.get_workflow("wf")
            assert deleted is not None and deleted.deleted_at == at(3)
            assert await store.get_instance("i1") == saved
            assert [t.seq for t in await store.list_transitions("i1")] == [1, 2]
            assert await store.next_wake_at() == at(40)
            assert await store.running_instance_ids() == ["i1"]
            assert await store.count_instances() == {InstanceStatus.RUNNING: 1}
            assert [e.id for e in await store.list_inbox("i1")] == ["e1"]
            assert [t.id for t in (await store.list_triggers(PageRequest(5))).items] == ["t1"]
            assert await store.insert_occurrence(occurrence("t1", 1, event_id="ev1")) is False
            account = await store.get_account("default", "users:1")
            assert account.balances == {"USD/2": 2**70} and account.metadata == {"k": "v"}
            assert await store.get_wallet_by_name("default", "main") == wallet("w1", "main")
        finally:
            await store.close()

    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "flowql.db")
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    store = SqliteStore(path)
    try:
        with pytest.raises(RuntimeError, match="newer"):
            await store.open()
    finally:
        await store.close()


async def test_a_schema_1_file_is_refused_before_any_ddl(tmp_path: Path) -> None:
    """Schema 1 kept stage histories and consumed event ids in the instance row and had no
    inbox positions; flowql does not migrate it and says so, leaving the file as it was."""
    path = str(tmp_path / "flowql.db")
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (1)")
        raw.execute("CREATE TABLE inbox (id TEXT PRIMARY KEY, instance_id TEXT, received_at TEXT, doc TEXT)")
    store = SqliteStore(path)
    try:
        with pytest.raises(RuntimeError, match=r"^SQLite schema version 1 is older than this flowql's \(2\)"):
            await store.open()
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:
        tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"schema_version", "inbox"}
