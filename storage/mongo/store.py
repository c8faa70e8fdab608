"""The MongoDB store, on PyMongo's async API (`AsyncMongoClient`), built on single-document
atomicity: it needs no replica set and no transactions (mongomock has none either).

- An instance is one document of bounded size: its fields, stage statuses (each with at
  most one pending activity) and `version` for compare-and-set. Its transitions, stage
  history entries and inbox events are documents of their own, keyed `instance/seq`,
  `instance/stage/n` and `instance/position`; `save_instance` claims the new version, writes
  the rows it carries, then the instance (`versions`, `instances`).
- Workflows, triggers, occurrences and wallets are one document each, inserted once; soft
  deletes are one conditional update. Duplicate occurrences and wallet names are refused by
  deterministic `_id`s and a unique index.
- The ledger is in `postings` (postings applied idempotently, resumed by `open()`).

Every document carries `schema_version`; values are encoded by `codec`. Each concern of
`flowql.engine.store` is implemented by its own class over the collections it owns;
`MongoStore` is their union.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..names import (
    ACCOUNTS,
    DRAFTS,
    HISTORY,
    INBOX,
    INSTANCES,
    OCCURRENCES,
    OUTBOX,
    POKES,
    POSTINGS,
    REPLICAS,
    TRANSITIONS,
    TRIGGERS,
    VERSIONS,
    WALLETS,
    WORKFLOWS,
)
from .codec import Doc
from .drafts import Drafts
from .inbox import Inbox
from .instances import MongoInstanceStore
from .leases import MongoLeaseStore
from .ledger import MongoLedgerStore
from .outbox import MongoOutboxStore
from .postings import MongoLedger
from .schema import check_schema, create_indexes
from .server import Server, detect
from .triggers import MongoTriggerStore
from .workflows import MongoWorkflowStore

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase
    from pymongo.asynchronous.mongo_client import AsyncMongoClient

DEFAULT_DATABASE = "flowql"


class MongoStore(
    MongoWorkflowStore,
    MongoInstanceStore,
    MongoTriggerStore,
    MongoLedgerStore,
    MongoOutboxStore,
    MongoLeaseStore,
):
    """The Store protocol on one MongoDB database (an `AsyncDatabase`, or the test adapter's),
    and `LeaseStore`: several replicas may share it."""

    def __init__(self, *, database: AsyncDatabase[Doc], client: AsyncMongoClient[Doc] | None = None) -> None:
        self._db = database
        self._client = client
        self._server = Server()
        self._workflows = database[WORKFLOWS]
        self._instances = database[INSTANCES]
        self._transitions = database[TRANSITIONS]
        self._history = database[HISTORY]
        self._inbox = Inbox(database[INBOX])
        self._drafts = Drafts(database[DRAFTS])
        self._versions = self._instance_versions(database[VERSIONS], self._drafts)
        self._triggers = database[TRIGGERS]
        self._occurrences = database[OCCURRENCES]
        self._outbox = database[OUTBOX]
        self._postings = database[POSTINGS]
        self._accounts = database[ACCOUNTS]
        self._wallets = database[WALLETS]
        self._replicas = database[REPLICAS]
        self._pokes = database[POKES]
        self._ledger = MongoLedger(
            self._postings,
            self._accounts,
            self._wallets,
            versions=database[VERSIONS],
            drafts=self._drafts,
            server=self._server,
        )

    @property
    def database(self) -> AsyncDatabase[Doc]:
        """The database the store writes to (for tests and operational scripts)."""
        return self._db

    @classmethod
    def from_uri(cls, uri: str) -> MongoStore:
        """A store owning its client; the database is the URI's (`flowql` when it names none)."""
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
        return cls(database=client.get_default_database(DEFAULT_DATABASE), client=client)

    async def open(self) -> None:
        """Find out what the server indexes (`server`), check the schema version, create
        missing indexes, then finish postings a crash left pending."""
        await detect(self._db, self._server)
        await check_schema(self._db)
        await create_indexes(self._db)
        await self.recover_postings()

    async def close(self) -> None:
        await self._drafts.flush()
        if self._client is not None:
            await self._client.close()

    async def recover_postings(self) -> int:
        """Re-apply every pending posting (safe to run twice: see `postings`)."""
        return await self._ledger.recover_postings()
