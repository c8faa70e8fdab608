"""The MongoDB store, on PyMongo's async API (`AsyncMongoClient`), built on single-document
atomicity: it needs no replica set and no transactions (mongomock has none either).

- An instance is one document: its fields, stage statuses and histories, `version` for
  compare-and-set, and its `transitions` array. `save_instance` is one `update_one` filtered
  on the expected version that sets the state and pushes the transitions, so a transition
  is stored exactly when the state change it describes is. Reads of instances leave the
  `transitions` array out.
- Workflows, triggers, occurrences, inbox events and wallets are one document each, inserted
  once; soft deletes are one conditional update. Duplicate occurrences and wallet names are
  refused by unique indexes.
- The ledger is in `mongo_ledger` (postings applied idempotently, resumed by `open()`).

Every document carries `schema_version`; values are encoded by `mongo_codec`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import VersionConflict, conflict
from flowql.engine.models import (
    Account,
    InboxEvent,
    Instance,
    InstanceStatus,
    Posting,
    Transition,
    Trigger,
    TriggerOccurrence,
    Wallet,
    Workflow,
)
from flowql.engine.pagination import Direction, Page, PageRequest, make_page

from .mongo_codec import Doc, decode, encode, from_doc, to_doc, utc
from .mongo_ledger import MongoLedger
from .mongo_schema import create_indexes
from .names import ACCOUNTS, INBOX, INSTANCES, OCCURRENCES, POSTINGS, TRIGGERS, WALLETS, WORKFLOWS

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.asynchronous.database import AsyncDatabase
    from pymongo.asynchronous.mongo_client import AsyncMongoClient

M = TypeVar("M", bound=BaseModel)

DEFAULT_DATABASE = "flowql"
_NO_TRANSITIONS = {"transitions": 0}
_LIVE: Doc = {"deleted_at": None}


def _created(record: Workflow | Instance | Trigger) -> tuple[datetime, str]:
    return record.created_at, record.id


def _dated(record: TriggerOccurrence) -> tuple[datetime, str]:
    return record.date, record.id


async def _page(
    collection: AsyncCollection[Doc],
    model: type[M],
    request: PageRequest,
    key: Callable[[M], tuple[datetime, str]],
    query: Doc,
    *,
    time_field: str = "created_at",
    projection: Doc | None = None,
) -> Page[M]:
    """One range query over `(time_field, _id)` in the request's direction."""
    order = -1
    if request.after is not None:
        op, order = ("$lt", -1) if request.after.direction is Direction.OLDER else ("$gt", 1)
        moment, ident = request.after.created_at, request.after.id
        after = {"$or": [{time_field: {op: moment}}, {time_field: moment, "_id": {op: ident}}]}
        query = {"$and": [query, after]} if query else after
    cursor = collection.find(query, projection).sort([(time_field, order), ("_id", order)])
    docs = await cursor.limit(request.page_size + 1).to_list(None)
    return make_page([from_doc(model, doc) for doc in docs], request, key)


def _instance_fields(instance: Instance) -> Doc:
    doc = to_doc(instance, running=not instance.terminated)
    del doc["_id"]
    return doc


class MongoStore:
    """The Store protocol on one MongoDB database (an `AsyncDatabase`, or the test adapter's)."""

    def __init__(self, *, database: AsyncDatabase[Doc], client: AsyncMongoClient[Doc] | None = None) -> None:
        self._db = database
        self._client = client
        self._workflows = database[WORKFLOWS]
        self._instances = database[INSTANCES]
        self._inbox = database[INBOX]
        self._triggers = database[TRIGGERS]
        self._occurrences = database[OCCURRENCES]
        self._ledger = MongoLedger(database[POSTINGS], database[ACCOUNTS], database[WALLETS])

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
        """Create missing indexes, then finish postings a crash left pending."""
        await create_indexes(self._db)
        await self.recover_postings()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def recover_postings(self) -> int:
        """Re-apply every pending posting (safe to run twice: see `mongo_ledger`)."""
        return await self._ledger.recover_postings()

    # --- workflows ----------------------------------------------------------------------
    async def insert_workflow(self, workflow: Workflow) -> None:
        try:
            await self._workflows.insert_one(to_doc(workflow))
        except DuplicateKeyError:
            raise conflict(f"workflow {workflow.id!r} already exists") from None

    async def get_workflow(self, workflow_id: str) -> Workflow | None:
        doc = await self._workflows.find_one({"_id": workflow_id})
        return from_doc(Workflow, doc) if doc else None

    async def get_workflows(self, workflow_ids: Sequence[str]) -> dict[str, Workflow]:
        docs = await self._workflows.find({"_id": {"$in": list(set(workflow_ids))}}).to_list(None)
        return {doc["_id"]: from_doc(Workflow, doc) for doc in docs}

    async def list_workflows(self, page: PageRequest) -> Page[Workflow]:
        return await _page(self._workflows, Workflow, page, _created, dict(_LIVE))

    async def delete_workflow(self, workflow_id: str, at: datetime) -> bool:
        result = await self._workflows.update_one(
            {"_id": workflow_id, **_LIVE}, {"$set": {"deleted_at": encode(at), "updated_at": encode(at)}}
        )
        return result.modified_count == 1

    # --- instances ----------------------------------------------------------------------
    async def insert_instance(self, instance: Instance, transitions: Sequence[Transition]) -> None:
        doc = to_doc(
            instance, running=not instance.terminated, transitions=[t.model_dump() for t in transitions]
        )
        try:
            await self._instances.insert_one(doc)
        except DuplicateKeyError:
            raise conflict(f"instance {instance.id!r} already exists") from None

    async def save_instance(
        self, instance: Instance, *, expected_version: int, transitions: Sequence[Transition]
    ) -> Instance:
        saved = instance.model_copy(update={"version": expected_version + 1})
        result = await self._instances.update_one(
            {"_id": saved.id, "version": expected_version},
            {
                "$set": _instance_fields(saved),
                "$push": {"transitions": {"$each": encode([t.model_dump() for t in transitions])}},
            },
        )
        if result.matched_count != 1:
            raise VersionConflict("instance", saved.id)
        return saved

    async def get_instance(self, instance_id: str) -> Instance | None:
        doc = await self._instances.find_one({"_id": instance_id}, _NO_TRANSITIONS)
        return from_doc(Instance, doc) if doc else None

    async def get_instances(self, instance_ids: Sequence[str]) -> dict[str, Instance]:
        query = {"_id": {"$in": list(set(instance_ids))}}
        docs = await self._instances.find(query, _NO_TRANSITIONS).to_list(None)
        return {doc["_id"]: from_doc(Instance, doc) for doc in docs}

    async def list_instances(
        self, page: PageRequest, *, workflow_id: str | None = None, running: bool | None = None
    ) -> Page[Instance]:
        query: Doc = {}
        if workflow_id is not None:
            query["workflow_id"] = workflow_id
        if running is not None:
            query["running"] = running
        return await _page(self._instances, Instance, page, _created, query, projection=_NO_TRANSITIONS)

    async def running_instance_ids(self) -> list[str]:
        cursor = self._instances.find({"running": True}, {"_id": 1}).sort([("created_at", 1), ("_id", 1)])
        return [doc["_id"] for doc in await cursor.to_list(None)]

    async def due_instances(self, now: datetime, limit: int) -> list[str]:
        query = {"running": True, "wake_at": {"$ne": None, "$lte": encode(now)}}
        cursor = self._instances.find(query, {"_id": 1}).sort([("wake_at", 1), ("_id", 1)]).limit(limit)
        return [doc["_id"] for doc in await cursor.to_list(None)]

    async def next_wake_at(self) -> datetime | None:
        query = {"running": True, "wake_at": {"$ne": None}}
        docs = await self._instances.find(query, {"wake_at": 1}).sort("wake_at", 1).limit(1).to_list(None)
        return utc(docs[0]["wake_at"]) if docs else None

    async def list_transitions(self, instance_id: str, after_seq: int = 0) -> list[Transition]:
        doc = await self._instances.find_one({"_id": instance_id}, {"transitions": 1})
        stored = [Transition.model_validate(decode(t)) for t in (doc or {}).get("transitions", [])]
        return sorted((t for t in stored if t.seq > after_seq), key=lambda t: t.seq)

    async def count_instances(self) -> dict[InstanceStatus, int]:
        cursor = await self._instances.aggregate([{"$group": {"_id": "$status", "count": {"$sum": 1}}}])
        return {InstanceStatus(row["_id"]): row["count"] for row in await cursor.to_list(None)}

    # --- inbox --------------------------------------------------------------------------
    async def append_event(self, event: InboxEvent) -> None:
        try:
            await self._inbox.insert_one(to_doc(event))
        except DuplicateKeyError:
            raise conflict(f"event {event.id!r} already exists") from None

    async def list_inbox(self, instance_id: str) -> list[InboxEvent]:
        cursor = self._inbox.find({"instance_id": instance_id}).sort([("received_at", 1), ("_id", 1)])
        return [from_doc(InboxEvent, doc) for doc in await cursor.to_list(None)]

    # --- triggers -----------------------------------------------------------------------
    async def insert_trigger(self, trigger: Trigger) -> None:
        try:
            await self._triggers.insert_one(to_doc(trigger))
        except DuplicateKeyError:
            raise conflict(f"trigger {trigger.id!r} already exists") from None

    async def get_trigger(self, trigger_id: str) -> Trigger | None:
        doc = await self._triggers.find_one({"_id": trigger_id})
        return from_doc(Trigger, doc) if doc else None

    async def list_triggers(self, page: PageRequest, *, name: str | None = None) -> Page[Trigger]:
        query: Doc = dict(_LIVE)
        if name:
            query["name"] = {"$regex": re.escape(name)}
        return await _page(self._triggers, Trigger, page, _created, query)

    async def triggers_for_event(self, event_type: str) -> list[Trigger]:
        cursor = self._triggers.find({"event": event_type, **_LIVE}).sort([("created_at", 1), ("_id", 1)])
        return [from_doc(Trigger, doc) for doc in await cursor.to_list(None)]

    async def delete_trigger(self, trigger_id: str, at: datetime) -> bool:
        result = await self._triggers.update_one(
            {"_id": trigger_id, **_LIVE}, {"$set": {"deleted_at": encode(at)}}
        )
        return result.modified_count == 1

    async def insert_occurrence(self, occurrence: TriggerOccurrence) -> bool:
        try:
            await self._occurrences.insert_one(to_doc(occurrence))
        except DuplicateKeyError:
            return False
        return True

    async def list_occurrences(self, trigger_id: str, page: PageRequest) -> Page[TriggerOccurrence]:
        query = {"trigger_id": trigger_id}
        return await _page(self._occurrences, TriggerOccurrence, page, _dated, query, time_field="date")

    # --- embedded ledger ----------------------------------------------------------------
    async def post(self, posting: Posting, *, allow_overdraft: bool = False) -> Posting:
        return await self._ledger.post(posting, allow_overdraft)

    async def list_postings(self, ledger: str | None = None) -> list[Posting]:
        return await self._ledger.list_postings(ledger)

    async def get_account(self, ledger: str, address: str) -> Account:
        return await self._ledger.get_account(ledger, address)

    async def set_account_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account:
        return await self._ledger.set_metadata(ledger, address, metadata)

    async def insert_wallet(self, wallet: Wallet) -> None:
        await self._ledger.insert_wallet(wallet)

    async def get_wallet(self, wallet_id: str) -> Wallet | None:
        return await self._ledger.get_wallet(wallet_id)

    async def get_wallet_by_name(self, ledger: str | None, name: str) -> Wallet | None:
        return await self._ledger.get_wallet_by_name(ledger, name)
