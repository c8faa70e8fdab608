"""Did a request write to the store? A read-only SQLite connection beside the server.

`PRAGMA data_version` changes on a connection whenever another connection commits to the
file, so comparing it before and after a request says exactly whether that request (or
something it started) wrote anything; `counts()` says where, for the failure message.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


class StoreWatch:
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

    def version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def counts(self) -> dict[str, int]:
        return {
            table: int(self._conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in self._tables
        }

    def settle(self, *, quiet: float = 0.05, timeout: float = 5.0) -> int:
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


__all__ = ["StoreWatch"]
