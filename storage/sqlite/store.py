"""The SQLite store: the embedded default. One file, WAL, schema created on first open.

Records are stored as the JSON of their domain model (`doc`) beside the columns that are
indexed or filtered on, so reading a record is one row and one `model_validate_json`.
Each concern of `flowql.engine.store` is implemented by its own class over the one shared
connection; `SqliteStore` is their union.
"""

from __future__ import annotations

from . import rows as records
from .connection import SqliteConnection
from .instances import SqliteInstanceStore
from .ledger import SqliteLedgerStore
from .outbox import SqliteOutboxStore
from .triggers import SqliteTriggerStore
from .workflows import SqliteWorkflowStore


class SqliteStore(
    SqliteWorkflowStore, SqliteInstanceStore, SqliteTriggerStore, SqliteLedgerStore, SqliteOutboxStore
):
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
