"""Row helpers of the SQLite store: schema set-up, keyset pages, lookups by id."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from flowql.engine.clock import to_iso
from flowql.engine.models import (
    Activity,
    HistoryEntry,
    Instance,
    Transition,
    Trigger,
    TriggerOccurrence,
    Workflow,
)
from flowql.engine.pagination import Direction, Page, PageRequest, make_page
from flowql.engine.store import HistoryRange

from ..names import HISTORY, INSTANCES, TRANSITIONS
from .schema import DDL, PRAGMAS, VERSION, VERSION_TABLE

MAX_IN = 500
"""Ids per `IN (...)` query: well under SQLite's limit on bound parameters."""

M = TypeVar("M", bound=BaseModel)


def setup(c: sqlite3.Connection) -> None:
    """Create the schema in a new file; refuse a file of another schema version (checked
    before any DDL: an older layout would fail it halfway). There is no migration."""
    for pragma in PRAGMAS:
        c.execute(pragma)
    c.execute(VERSION_TABLE)
    row = c.execute("SELECT max(version) FROM schema_version").fetchone()
    if row[0] is not None and row[0] > VERSION:
        raise RuntimeError(f"SQLite schema version {row[0]} is newer than this flowql ({VERSION})")
    if row[0] is not None and row[0] < VERSION:
        raise RuntimeError(
            f"SQLite schema version {row[0]} is older than this flowql's ({VERSION}), which does "
            "not migrate it: use a new file"
        )
    c.executescript(DDL)
    if row[0] is None:
        c.execute("INSERT INTO schema_version (version) VALUES (?)", (VERSION,))


def page(
    c: sqlite3.Connection,
    table: str,
    model: type[M],
    request: PageRequest,
    key: Callable[[M], tuple[datetime, str]],
    *,
    where: Sequence[str] = (),
    params: Sequence[Any] = (),
    time_column: str = "created_at",
) -> Page[M]:
    rows = page_rows(c, table, model, request, where=where, params=params, time_column=time_column)
    return make_page(rows, request, key)


def page_rows(
    c: sqlite3.Connection,
    table: str,
    model: type[M],
    request: PageRequest,
    *,
    where: Sequence[str] = (),
    params: Sequence[Any] = (),
    time_column: str = "created_at",
) -> list[M]:
    """Up to `page_size + 1` records in the request's reading direction (for `make_page`)."""
    clauses, values = list(where), list(params)
    order = "DESC"
    if request.after is not None:
        op = "<" if request.after.direction is Direction.OLDER else ">"
        order = "DESC" if op == "<" else "ASC"
        clauses.append(f"({time_column}, id) {op} (?, ?)")
        values += [to_iso(request.after.created_at), request.after.id]
    sql = f"SELECT doc FROM {table}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY {time_column} {order}, id {order} LIMIT ?"
    rows = c.execute(sql, (*values, request.page_size + 1)).fetchall()
    return [model.model_validate_json(doc) for (doc,) in rows]


def by_ids(c: sqlite3.Connection, table: str, model: type[M], ids: Sequence[str]) -> dict[str, M]:
    unique = list(dict.fromkeys(ids))
    found: dict[str, M] = {}
    for start in range(0, len(unique), MAX_IN):
        chunk = unique[start : start + MAX_IN]
        marks = ",".join("?" * len(chunk))
        for ident, doc in c.execute(f"SELECT id, doc FROM {table} WHERE id IN ({marks})", chunk):
            found[ident] = model.model_validate_json(doc)
    return found


def one(c: sqlite3.Connection, table: str, model: type[M], ident: str) -> M | None:
    row = c.execute(f"SELECT doc FROM {table} WHERE id = ?", (ident,)).fetchone()
    return model.model_validate_json(row[0]) if row else None


def created(record: Workflow | Instance | Trigger) -> tuple[datetime, str]:
    return record.created_at, record.id


def dated(record: TriggerOccurrence) -> tuple[datetime, str]:
    return record.date, record.id


def optional_iso(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def write_transitions(c: sqlite3.Connection, transitions: Sequence[Transition]) -> None:
    """Rows beyond the instance's `transition_count` are not trusted (as on MongoDB, where a
    lost write can leave them): a save of those seqs replaces them."""
    c.executemany(
        f"INSERT INTO {TRANSITIONS} (instance_id, seq, doc) VALUES (?, ?, ?) "
        "ON CONFLICT (instance_id, seq) DO UPDATE SET doc = excluded.doc",
        [(t.instance_id, t.seq, t.model_dump_json()) for t in transitions],
    )


def write_history(c: sqlite3.Connection, entries: Sequence[HistoryEntry]) -> None:
    """Like transitions: an entry past its stage's `history_count` is not trusted, and a
    save of that `(instance, stage, n)` replaces it."""
    c.executemany(
        f"INSERT INTO {HISTORY} (instance_id, stage, n, doc) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (instance_id, stage, n) DO UPDATE SET doc = excluded.doc",
        [(e.instance_id, e.stage, e.n, e.activity.model_dump_json()) for e in entries],
    )


HISTORY_CHUNK = 100
"""Ranges per statement: one primary-key range each, OR-ed."""


def read_history(
    c: sqlite3.Connection, ranges: Sequence[HistoryRange]
) -> dict[tuple[str, int], list[HistoryEntry]]:
    found: dict[tuple[str, int], list[HistoryEntry]] = {(r.instance_id, r.stage): [] for r in ranges}
    wanted = [r for r in ranges if r.until > r.after]
    for start in range(0, len(wanted), HISTORY_CHUNK):
        chunk = wanted[start : start + HISTORY_CHUNK]
        where = " OR ".join(["(instance_id = ? AND stage = ? AND n > ? AND n <= ?)"] * len(chunk))
        params = [value for r in chunk for value in (r.instance_id, r.stage, r.after, r.until)]
        sql = f"SELECT instance_id, stage, n, doc FROM {HISTORY} WHERE {where} ORDER BY instance_id, stage, n"
        for ident, stage, n, doc in c.execute(sql, params):
            entry = HistoryEntry(
                instance_id=ident, stage=stage, n=n, activity=Activity.model_validate_json(doc)
            )
            found[(ident, stage)].append(entry)
    return found


_KEEP_INDEXED = (
    f"UPDATE {INSTANCES} SET version = ?, doc = ? "
    "WHERE id = ? AND version = ? AND running = ? AND status = ? AND wake_at IS ?"
)
_SET_TIMER = (
    f"UPDATE {INSTANCES} SET version = ?, doc = ?, wake_at = ? "
    "WHERE id = ? AND version = ? AND running = ? AND status = ?"
)
_SET_ALL = (
    f"UPDATE {INSTANCES} SET version = ?, doc = ?, wake_at = ?, running = ?, status = ? "
    "WHERE id = ? AND version = ?"
)


def update_instance(c: sqlite3.Connection, saved: Instance, doc: str, expected_version: int) -> bool:
    """Compare-and-set of one instance row; False when its version is not `expected_version`.

    Naming a column in an UPDATE's SET rewrites every index on it even when the value is
    unchanged: setting `running`, `status` and `wake_at` costs about four times setting the
    document alone. Most saves change no indexed column and some only the timer, so the
    narrowest statement is tried first, guarded by the columns it leaves alone; a miss costs
    one primary-key probe.
    """
    running, status, wake_at = int(not saved.terminated), saved.status.value, optional_iso(saved.wake_at)
    key = (saved.id, expected_version)
    if c.execute(_KEEP_INDEXED, (saved.version, doc, *key, running, status, wake_at)).rowcount == 1:
        return True
    if c.execute(_SET_TIMER, (saved.version, doc, wake_at, *key, running, status)).rowcount == 1:
        return True
    return c.execute(_SET_ALL, (saved.version, doc, wake_at, running, status, *key)).rowcount == 1
