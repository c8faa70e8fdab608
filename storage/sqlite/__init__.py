"""The SQLite store, one module per concern of `flowql.engine.store`."""

from .instances import SqliteInstanceStore
from .ledger import SqliteLedgerStore
from .store import SqliteStore
from .triggers import SqliteTriggerStore
from .workflows import SqliteWorkflowStore

__all__ = [
    "SqliteInstanceStore",
    "SqliteLedgerStore",
    "SqliteStore",
    "SqliteTriggerStore",
    "SqliteWorkflowStore",
]
