"""`TriggerStore` on SQLite: triggers and their occurrences."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flowql.engine.clock import to_iso
from flowql.engine.errors import conflict
from flowql.engine.models import Trigger, TriggerOccurrence
from flowql.engine.pagination import Page, PageRequest

from ..names import OCCURRENCES, TRIGGERS
from . import outbox
from . import rows as records
from .connection import SqliteConnection


class SqliteTriggerStore:
    _db: SqliteConnection
    _outbox: bool = False

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
            if cursor.rowcount == 1 and self._outbox:
                outbox.mark_occurrence(c, occurrence.id)
            return cursor.rowcount == 1

        return await self._db.write(work)

    async def get_occurrence(self, occurrence_id: str) -> TriggerOccurrence | None:
        return await self._db.run(lambda c: records.one(c, OCCURRENCES, TriggerOccurrence, occurrence_id))

    async def get_occurrences(self, occurrence_ids: Sequence[str]) -> dict[str, TriggerOccurrence]:
        return await self._db.run(lambda c: records.by_ids(c, OCCURRENCES, TriggerOccurrence, occurrence_ids))

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
