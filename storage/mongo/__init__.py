"""The MongoDB store, one module per concern of `flowql.engine.store`."""

from .instances import MongoInstanceStore
from .ledger import MongoLedgerStore
from .store import DEFAULT_DATABASE, MongoStore
from .triggers import MongoTriggerStore
from .workflows import MongoWorkflowStore

__all__ = [
    "DEFAULT_DATABASE",
    "MongoInstanceStore",
    "MongoLedgerStore",
    "MongoStore",
    "MongoTriggerStore",
    "MongoWorkflowStore",
]
