"""`OutboxStore` on SQLite: one row per instance with transitions to publish, written in the
transaction that stores the transitions (so a committed transition always has its row)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from flowql.engine.models import Transition
from flowql.engine.store import OutboxEntry

from ..names import OUTBOX
from .connection import SqliteConnection


def mark(c: sqlite3.Connection, transitions: Sequence[Transition]) -> None:
    if not transitions:
        return
    first, last = transitions[0], transitions[-1]
    c.execute(
        f"INSERT INTO {OUTBOX} (instance_id, upto, published, since) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (instance_id) DO UPDATE SET upto = max(upto, excluded.upto)",
        (first.instance_id, last.seq, first.seq - 1, time.time_ns()),
    )


def mark_occurrence(c: sqlite3.Connection, occurrence_id: str) -> None:
    c.execute(
        f"INSERT INTO {OUTBOX} (instance_id, upto, published, since) VALUES (?, 1, 0, ?) "
        "ON CONFLICT DO NOTHING",
        (f"occurrence:{occurrence_id}", time.time_ns()),
    )


class SqliteOutboxStore:
    _db: SqliteConnection
    _outbox: bool = False

    def enable_outbox(self) -> None:
        """Record outbox rows from now on (only while something publishes them)."""
        self._outbox = True

    async def pending_outbox(self, limit: int) -> list[OutboxEntry]:
        rows = await self._db.run(
            lambda c: c.execute(
                f"SELECT instance_id, upto, published, since FROM {OUTBOX} ORDER BY since LIMIT ?", (limit,)
            ).fetchall()
        )
        return [OutboxEntry(*row) for row in rows]

    async def mark_published(self, entry: OutboxEntry, published: int) -> None:
        def work(c: sqlite3.Connection) -> None:
            if published >= entry.upto:
                done = c.execute(
                    f"DELETE FROM {OUTBOX} WHERE instance_id = ? AND upto = ?",
                    (entry.instance_id, entry.upto),
                )
                if done.rowcount == 1:
                    return
            c.execute(
                f"UPDATE {OUTBOX} SET published = max(published, ?) WHERE instance_id = ?",
                (published, entry.instance_id),
            )

        await self._db.write(work)
