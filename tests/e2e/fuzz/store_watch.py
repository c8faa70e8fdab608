"""Did a request write to the store? A read-only watcher beside the server.

SQLite: `PRAGMA data_version` changes on a connection whenever another connection commits
to the file, so comparing it before and after a request says exactly whether that request
(or something it started) wrote anything. MongoDB (and FerretDB, which has neither change
streams nor `dbHash`): a digest of every document in the database. Counting the server's
write commands is not enough: a `createWallet` refused as CONFLICT by the unique
`(ledger, name)` index sent an insert that wrote nothing. The write-command counters
(`serverStatus` `metrics.commands`) still decide when the digest must be recomputed: no
write command, no change. The fuzz tests run one at a time, so the only writer is the
server under test. `counts()` says where, for the failure message.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import bson


class StoreWatch:
    """The SQLite file's watcher (`for_store` picks the right one for a store URI)."""

    def __init__(self, db: Path) -> None:
        self._conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        self._tables = [
            str(name)
            for (name,) in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]

    def close(self) -> None:
        self._conn.close()

    def version(self) -> object:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def counts(self) -> dict[str, int]:
        return {
            table: int(self._conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in self._tables
        }

    def settle(self, *, quiet: float = 0.05, timeout: float = 5.0) -> object:
        """Wait until nothing was committed for `quiet` seconds (work a request started)."""
        deadline = time.monotonic() + timeout
        version = self.version()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.version()
            if now == version:
                return now
            version = now
        raise AssertionError(f"the store kept changing for {timeout} s")


WRITE_COMMANDS = ("insert", "update", "delete", "findAndModify")


class MongoStoreWatch(StoreWatch):
    def __init__(self, uri: str) -> None:
        from pymongo import MongoClient

        self._client: MongoClient[Any] = MongoClient(uri)
        self._db = self._client.get_default_database()
        self._commands: tuple[int, ...] | None = None
        self._digest = ""

    def close(self) -> None:
        self._client.close()

    def version(self) -> object:
        commands = self._write_commands()
        if commands != self._commands:
            self._commands, self._digest = commands, self._contents_digest()
        return self._digest

    def _write_commands(self) -> tuple[int, ...]:
        commands = self._client.admin.command("serverStatus").get("metrics", {}).get("commands", {})
        return tuple(int(commands.get(name, {}).get("total", 0)) for name in WRITE_COMMANDS)

    def _contents_digest(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self._db.list_collection_names()):
            digest.update(name.encode())
            for document in self._db[name].find({}, sort=[("_id", 1)]):
                digest.update(bson.encode(document))
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        return {name: self._db[name].count_documents({}) for name in sorted(self._db.list_collection_names())}


def for_store(store: str, db: Path) -> StoreWatch:
    return MongoStoreWatch(store) if store.startswith("mongodb") else StoreWatch(db)


__all__ = ["MongoStoreWatch", "StoreWatch", "for_store"]
