"""The SQLite store: the embedded default. One file, WAL, schema created on first open.

Records are stored as the JSON of their domain model (`doc`) beside the columns that are
indexed or filtered on, so reading a record is one row and one `model_validate_json`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flowql.engine.clock import from_iso, to_iso
from flowql.engine.errors import VersionConflict, conflict
from flowql.engine.models import (
    Account,
    InboxEvent,
    Instance,
    InstanceStatus,
    Posting,
    Transition,
    Trigger,
    TriggerOccurrence,
    Wallet,
    Workflow,
)
from flowql.engine.pagination import Page, PageRequest

from . import sqlite_ledger as ledger
from . import sqlite_rows as records
from .names import INBOX, INSTANCES, OCCURRENCES, TRANSITIONS, TRIGGERS, WALLETS, WORKFLOWS
from .sqlite_connection import SqliteConnection
from .sqlite_schema import WAKE_INDEX


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._db = SqliteConnection(path)

    @property
    def stats(self) -> dict[str, int]:
        return {"commits": self._db.commits, "writes": self._db.writes}

    async def open(self) -> None:
        await self._db.open(records.setup)

    async def close(self) -> None:
        await self._db.close()

    # --- workflows ----------------------------------------------------------------------
    async def insert_workflow(self, workflow: Workflow) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {WORKFLOWS} (id, created_at, deleted_at, doc) VALUES (?, ?, ?, ?)",
                    (workflow.id, to_iso(workflow.created_at), None, workflow.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise conflict(f"workflow {workflow.id!r} already exists") from None

        await self._db.write(work)

    async def get_workflow(self, workflow_id: str) -> Workflow | None:
        return await self._db.run(lambda c: records.one(c, WORKFLOWS, Workflow, workflow_id))

    async def get_workflows(self, workflow_ids: Sequence[str]) -> dict[str, Workflow]:
        return await self._db.run(lambda c: records.by_ids(c, WORKFLOWS, Workflow, workflow_ids))

    async def list_workflows(self, page: PageRequest) -> Page[Workflow]:
        return await self._db.run(
            lambda c: records.page(
                c, WORKFLOWS, Workflow, page, records.created, where=["deleted_at IS NULL"]
            )
        )

    async def delete_workflow(self, workflow_id: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            workflow = records.one(c, WORKFLOWS, Workflow, workflow_id)
            if workflow is None or workflow.deleted_at is not None:
                return False
            deleted = workflow.model_copy(update={"deleted_at": at, "updated_at": at})
            c.execute(
                f"UPDATE {WORKFLOWS} SET deleted_at = ?, doc = ? WHERE id = ?",
                (to_iso(at), deleted.model_dump_json(), workflow_id),
            )
            return True

        return await self._db.write(work)

    # --- instances ----------------------------------------------------------------------
    async def insert_instance(self, instance: Instance, transitions: Sequence[Transition]) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {INSTANCES} (id, workflow_id, running, status, created_at, version, "
                    "wake_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        instance.id,
                        instance.workflow_id,
                        int(not instance.terminated),
                        instance.status.value,
                        to_iso(instance.created_at),
                        instance.version,
                        records.optional_iso(instance.wake_at),
                        instance.model_dump_json(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise conflict(f"instance {instance.id!r} already exists") from None
            records.insert_transitions(c, transitions)

        await self._db.write(work)

    async def save_instance(
        self, instance: Instance, *, expected_version: int, transitions: Sequence[Transition]
    ) -> Instance:
        saved = instance.model_copy(update={"version": expected_version + 1})
        doc = saved.model_dump_json()

        def work(c: sqlite3.Connection) -> Instance:
            if not records.update_instance(c, saved, doc, expected_version):
                raise VersionConflict("instance", saved.id)
            records.insert_transitions(c, transitions)
            return saved

        return await self._db.write(work)

    async def get_instance(self, instance_id: str) -> Instance | None:
        return await self._db.run(lambda c: records.one(c, INSTANCES, Instance, instance_id))

    async def get_instances(self, instance_ids: Sequence[str]) -> dict[str, Instance]:
        return await self._db.run(lambda c: records.by_ids(c, INSTANCES, Instance, instance_ids))

    async def list_instances(
        self, page: PageRequest, *, workflow_id: str | None = None, running: bool | None = None
    ) -> Page[Instance]:
        where: list[str] = []
        params: list[Any] = []
        if workflow_id is not None:
            where.append("workflow_id = ?")
            params.append(workflow_id)
        if running is not None:
            where.append("running = ?")
            params.append(int(running))
        return await self._db.run(
            lambda c: records.page(c, INSTANCES, Instance, page, records.created, where=where, params=params)
        )

    async def running_instance_ids(self) -> list[str]:
        def work(c: sqlite3.Connection) -> list[str]:
            rows = c.execute(f"SELECT id FROM {INSTANCES} WHERE running = 1 ORDER BY created_at, id")
            return [ident for (ident,) in rows]

        return await self._db.run(work)

    async def due_instances(self, now: datetime, limit: int) -> list[str]:
        def work(c: sqlite3.Connection) -> list[str]:
            rows = c.execute(
                f"SELECT id FROM {INSTANCES} INDEXED BY {WAKE_INDEX} "
                "WHERE wake_at IS NOT NULL AND running = 1 AND wake_at <= ? "
                "ORDER BY wake_at LIMIT ?",
                (to_iso(now), limit),
            )
            return [ident for (ident,) in rows]

        return await self._db.run(work)

    async def next_wake_at(self) -> datetime | None:
        def work(c: sqlite3.Connection) -> datetime | None:
            row = c.execute(
                f"SELECT min(wake_at) FROM {INSTANCES} INDEXED BY {WAKE_INDEX} "
                "WHERE wake_at IS NOT NULL AND running = 1"
            ).fetchone()
            return from_iso(row[0]) if row and row[0] else None

        return await self._db.run(work)

    async def list_transitions(self, instance_id: str, after_seq: int = 0) -> list[Transition]:
        def work(c: sqlite3.Connection) -> list[Transition]:
            rows = c.execute(
                f"SELECT doc FROM {TRANSITIONS} WHERE instance_id = ? AND seq > ? ORDER BY seq",
                (instance_id, after_seq),
            )
            return [Transition.model_validate_json(doc) for (doc,) in rows]

        return await self._db.run(work)

    async def count_instances(self) -> dict[InstanceStatus, int]:
        def work(c: sqlite3.Connection) -> dict[InstanceStatus, int]:
            rows = c.execute(f"SELECT status, count(*) FROM {INSTANCES} GROUP BY status")
            return {InstanceStatus(status): count for status, count in rows}

        return await self._db.run(work)

    # --- inbox --------------------------------------------------------------------------
    async def append_event(self, event: InboxEvent) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {INBOX} (id, instance_id, received_at, doc) VALUES (?, ?, ?, ?)",
                    (event.id, event.instance_id, to_iso(event.received_at), event.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise conflict(f"event {event.id!r} already exists") from None

        await self._db.write(work)

    async def list_inbox(self, instance_id: str) -> list[InboxEvent]:
        def work(c: sqlite3.Connection) -> list[InboxEvent]:
            rows = c.execute(
                f"SELECT doc FROM {INBOX} WHERE instance_id = ? ORDER BY received_at, id", (instance_id,)
            )
            return [InboxEvent.model_validate_json(doc) for (doc,) in rows]

        return await self._db.run(work)

    # --- triggers -----------------------------------------------------------------------
    async def insert_trigger(self, trigger: Trigger) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {TRIGGERS} (id, name, event, created_at, deleted_at, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        trigger.id,
                        trigger.name,
                        trigger.event,
                        to_iso(trigger.created_at),
                        None,
                        trigger.model_dump_json(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise conflict(f"trigger {trigger.id!r} already exists") from None

        await self._db.write(work)

    async def get_trigger(self, trigger_id: str) -> Trigger | None:
        return await self._db.run(lambda c: records.one(c, TRIGGERS, Trigger, trigger_id))

    async def list_triggers(self, page: PageRequest, *, name: str | None = None) -> Page[Trigger]:
        where = ["deleted_at IS NULL"]
        params: list[Any] = []
        if name:
            where.append("instr(name, ?) > 0")
            params.append(name)
        return await self._db.run(
            lambda c: records.page(c, TRIGGERS, Trigger, page, records.created, where=where, params=params)
        )

    async def triggers_for_event(self, event_type: str) -> list[Trigger]:
        def work(c: sqlite3.Connection) -> list[Trigger]:
            rows = c.execute(
                f"SELECT doc FROM {TRIGGERS} WHERE event = ? AND deleted_at IS NULL ORDER BY created_at, id",
                (event_type,),
            )
            return [Trigger.model_validate_json(doc) for (doc,) in rows]

        return await self._db.run(work)

    async def delete_trigger(self, trigger_id: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            trigger = records.one(c, TRIGGERS, Trigger, trigger_id)
            if trigger is None or trigger.deleted_at is not None:
                return False
            deleted = trigger.model_copy(update={"deleted_at": at})
            c.execute(
                f"UPDATE {TRIGGERS} SET deleted_at = ?, doc = ? WHERE id = ?",
                (to_iso(at), deleted.model_dump_json(), trigger_id),
            )
            return True

        return await self._db.write(work)

    async def insert_occurrence(self, occurrence: TriggerOccurrence) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            cursor = c.execute(
                f"INSERT INTO {OCCURRENCES} (id, trigger_id, event_id, date, doc) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    occurrence.id,
                    occurrence.trigger_id,
                    occurrence.event_id,
                    to_iso(occurrence.date),
                    occurrence.model_dump_json(),
                ),
            )
            return cursor.rowcount == 1

        return await self._db.write(work)

    async def list_occurrences(self, trigger_id: str, page: PageRequest) -> Page[TriggerOccurrence]:
        return await self._db.run(
            lambda c: records.page(
                c,
                OCCURRENCES,
                TriggerOccurrence,
                page,
                records.dated,
                where=["trigger_id = ?"],
                params=[trigger_id],
                time_column="date",
            )
        )

    # --- embedded ledger ----------------------------------------------------------------
    async def post(self, posting: Posting, *, allow_overdraft: bool = False) -> Posting:
        return await self._db.write(lambda c: ledger.post(c, posting, allow_overdraft))

    async def list_postings(self, ledger_name: str | None = None) -> list[Posting]:
        return await self._db.run(lambda c: ledger.list_postings(c, ledger_name))

    async def get_account(self, ledger_name: str, address: str) -> Account:
        return await self._db.run(lambda c: ledger.get_account(c, ledger_name, address))

    async def set_account_metadata(self, ledger_name: str, address: str, metadata: dict[str, str]) -> Account:
        return await self._db.write(lambda c: ledger.set_metadata(c, ledger_name, address, metadata))

    async def insert_wallet(self, wallet: Wallet) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {WALLETS} (id, name, ledger, doc) VALUES (?, ?, ?, ?)",
                    (wallet.id, wallet.name, wallet.ledger, wallet.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise conflict(
                    f"a wallet named {wallet.name!r} already exists in ledger {wallet.ledger!r}"
                ) from None

        await self._db.write(work)

    async def get_wallet(self, wallet_id: str) -> Wallet | None:
        return await self._db.run(lambda c: records.one(c, WALLETS, Wallet, wallet_id))

    async def get_wallet_by_name(self, ledger_name: str | None, name: str) -> Wallet | None:
        def work(c: sqlite3.Connection) -> Wallet | None:
            if ledger_name is None:
                row = c.execute(
                    f"SELECT doc FROM {WALLETS} WHERE name = ? ORDER BY rowid LIMIT 1", (name,)
                ).fetchone()
            else:
                row = c.execute(
                    f"SELECT doc FROM {WALLETS} WHERE ledger = ? AND name = ?", (ledger_name, name)
                ).fetchone()
            return Wallet.model_validate_json(row[0]) if row else None

        return await self._db.run(work)
