"""`InstanceStore` on SQLite: instance rows (with the wake-up index), transitions, stage
histories, inbox."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flowql.engine.clock import from_iso, to_iso
from flowql.engine.errors import VersionConflict, conflict
from flowql.engine.models import HistoryEntry, InboxEvent, Instance, InstanceStatus, Transition
from flowql.engine.pagination import Direction, Page, PageRequest, make_page
from flowql.engine.store import MAX_RANGES, MAX_ROWS, HistoryRange

from ..names import INBOX, INSTANCES, TRANSITIONS
from . import outbox
from . import rows as records
from .connection import SqliteConnection
from .schema import WAKE_INDEX


class SqliteInstanceStore:
    _db: SqliteConnection
    _outbox: bool = False

    # --- instances ----------------------------------------------------------------------
    async def insert_instance(
        self, instance: Instance, transitions: Sequence[Transition], history: Sequence[HistoryEntry] = ()
    ) -> None:
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
            records.write_transitions(c, transitions)
            records.write_history(c, history)
            if self._outbox:
                outbox.mark(c, transitions)

        await self._db.write(work)

    async def save_instance(
        self,
        instance: Instance,
        *,
        expected_version: int,
        transitions: Sequence[Transition],
        history: Sequence[HistoryEntry] = (),
    ) -> Instance:
        saved = instance.model_copy(update={"version": expected_version + 1})
        doc = saved.model_dump_json()

        def work(c: sqlite3.Connection) -> Instance:
            if not records.update_instance(c, saved, doc, expected_version):
                raise VersionConflict("instance", saved.id)
            records.write_transitions(c, transitions)
            records.write_history(c, history)
            if self._outbox:
                outbox.mark(c, transitions)
            return saved

        return await self._db.write(work)

    async def get_instance(self, instance_id: str) -> Instance | None:
        return await self._db.run(lambda c: records.one(c, INSTANCES, Instance, instance_id))

    async def get_instances(self, instance_ids: Sequence[str]) -> dict[str, Instance]:
        return await self._db.run(lambda c: records.by_ids(c, INSTANCES, Instance, instance_ids))

    async def list_instances(
        self,
        page: PageRequest,
        *,
        workflow_id: str | None = None,
        running: bool | None = None,
        statuses: Sequence[InstanceStatus] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page[Instance]:
        where: list[str] = []
        params: list[Any] = []
        if workflow_id is not None:
            where.append("workflow_id = ?")
            params.append(workflow_id)
        if running is not None:
            where.append("running = ?")
            params.append(int(running))
        if created_after is not None:
            where.append("created_at > ?")
            params.append(to_iso(created_after))
        if created_before is not None:
            where.append("created_at < ?")
            params.append(to_iso(created_before))
        if statuses is None:
            return await self._db.run(
                lambda c: records.page(
                    c, INSTANCES, Instance, page, records.created, where=where, params=params
                )
            )

        def by_status(c: sqlite3.Connection) -> Page[Instance]:
            # One ordered range of the (status, created_at, id) index per status, merged: an IN
            # would sort every instance of those statuses to return one page.
            rows: list[Instance] = []
            for status in sorted({s.value for s in statuses}):
                clauses, values = [*where, "status = ?"], [*params, status]
                rows += records.page_rows(c, INSTANCES, Instance, page, where=clauses, params=values)
            newest_first = page.after is None or page.after.direction is Direction.OLDER
            rows.sort(key=records.created, reverse=newest_first)
            return make_page(rows[: page.page_size + 1], page, records.created)

        return await self._db.run(by_status)

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

    async def list_transitions(
        self, instance_id: str, after_seq: int = 0, limit: int = MAX_ROWS
    ) -> list[Transition]:
        def work(c: sqlite3.Connection) -> list[Transition]:
            rows = c.execute(
                f"SELECT doc FROM {TRANSITIONS} WHERE instance_id = ? AND seq > ? AND seq <= "
                f"(SELECT json_extract(doc, '$.transition_count') FROM {INSTANCES} WHERE id = ?) "
                "ORDER BY seq LIMIT ?",
                (instance_id, after_seq, instance_id, max(0, min(limit, MAX_ROWS))),
            )
            return [Transition.model_validate_json(doc) for (doc,) in rows]

        return await self._db.run(work)

    async def get_history(self, ranges: Sequence[HistoryRange]) -> dict[tuple[str, int], list[HistoryEntry]]:
        if len(ranges) > MAX_RANGES:
            raise ValueError(f"at most {MAX_RANGES} history ranges per read")
        return await self._db.run(lambda c: records.read_history(c, ranges))

    async def count_instances(self) -> dict[InstanceStatus, int]:
        def work(c: sqlite3.Connection) -> dict[InstanceStatus, int]:
            rows = c.execute(f"SELECT status, count(*) FROM {INSTANCES} GROUP BY status")
            return {InstanceStatus(status): count for status, count in rows}

        return await self._db.run(work)

    # --- inbox --------------------------------------------------------------------------
    async def append_event(self, event: InboxEvent) -> InboxEvent:
        def work(c: sqlite3.Connection) -> InboxEvent:
            # Writes are serialized (one writer, in a transaction): max + 1 has no gaps.
            (last,) = c.execute(
                f"SELECT coalesce(max(position), 0) FROM {INBOX} WHERE instance_id = ?", (event.instance_id,)
            ).fetchone()
            stored = event.model_copy(update={"position": last + 1})
            try:
                c.execute(
                    f"INSERT INTO {INBOX} (id, instance_id, position, received_at, doc) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        stored.id,
                        stored.instance_id,
                        stored.position,
                        to_iso(stored.received_at),
                        stored.model_dump_json(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise conflict(f"event {event.id!r} already exists") from None
            return stored

        return await self._db.write(work)

    async def list_inbox(self, instance_id: str, after: int = 0, limit: int = MAX_ROWS) -> list[InboxEvent]:
        def work(c: sqlite3.Connection) -> list[InboxEvent]:
            rows = c.execute(
                f"SELECT doc FROM {INBOX} WHERE instance_id = ? AND position > ? ORDER BY position LIMIT ?",
                (instance_id, after, max(0, min(limit, MAX_ROWS))),
            )
            return [InboxEvent.model_validate_json(doc) for (doc,) in rows]

        return await self._db.run(work)
