"""One aiosqlite connection, one thread hop per transaction, and group commit.

aiosqlite runs every call on its connection thread. A transaction of several statements
made through the public `execute` API costs one hop (~50 µs) per statement, so here each
store method is a plain function of a `sqlite3.Connection` handed to the thread whole.
Writes go through `GroupCommit`: writes that arrive while a commit is in flight are applied
together in the next transaction, each in its own SAVEPOINT so one failing write (a lost
compare-and-set, a duplicate key) rolls back alone. A write's caller resumes only after
the COMMIT that contains it: write-before-publish holds.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 512


class SqliteConnection:
    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0
        self.writes = 0

    async def open(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        self._conn = await aiosqlite.connect(self._path, isolation_level=None, check_same_thread=False)
        await self.run(setup)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the connection thread (reads, or DDL)."""
        conn = self._connection()
        raw: sqlite3.Connection = conn._conn
        result: T = await conn._execute(work, raw)  # type: ignore[no-untyped-call]
        return result

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` inside a committed transaction, grouped with concurrent writes."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("SQLite store is not open")
        return self._conn

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                works = [work for work, _ in batch]
                outcomes = await self.run(lambda c, works=works: _apply(c, works))  # type: ignore[misc]
            except Exception as error:  # the COMMIT itself failed: every write in it failed
                outcomes = [error] * len(batch)
            self.commits += 1
            self.writes += len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


def _apply(c: sqlite3.Connection, works: list[Work]) -> list[Any]:
    outcomes: list[Any] = []
    c.execute("BEGIN IMMEDIATE")
    try:
        for work in works:
            c.execute("SAVEPOINT w")
            try:
                outcomes.append(work(c))
                c.execute("RELEASE w")
            except Exception as error:
                c.execute("ROLLBACK TO w")
                c.execute("RELEASE w")
                outcomes.append(error)
        c.execute("COMMIT")
    except BaseException:
        if c.in_transaction:
            c.execute("ROLLBACK")
        raise
    return outcomes
