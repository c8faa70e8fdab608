"""`InstanceStore` on MongoDB: instance documents (with their transitions and the wake-up
fields), inbox events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import VersionConflict, conflict
from flowql.engine.models import InboxEvent, Instance, InstanceStatus, Transition
from flowql.engine.pagination import Page, PageRequest

from . import outbox, pages
from .codec import Doc, decode, encode, from_doc, to_doc, utc

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

_NO_TRANSITIONS = {"transitions": 0}


def _instance_fields(instance: Instance) -> Doc:
    doc = to_doc(instance, running=not instance.terminated)
    del doc["_id"]
    return doc


class MongoInstanceStore:
    _instances: AsyncCollection[Doc]
    _inbox: AsyncCollection[Doc]
    _outbox: AsyncCollection[Doc]
    _outbox_on: bool = False

    # --- instances ----------------------------------------------------------------------
    async def insert_instance(self, instance: Instance, transitions: Sequence[Transition]) -> None:
        doc = to_doc(
            instance, running=not instance.terminated, transitions=[t.model_dump() for t in transitions]
        )
        if self._outbox_on:
            await outbox.mark(self._outbox, transitions)
        try:
            await self._instances.insert_one(doc)
        except DuplicateKeyError:
            raise conflict(f"instance {instance.id!r} already exists") from None

    async def save_instance(
        self, instance: Instance, *, expected_version: int, transitions: Sequence[Transition]
    ) -> Instance:
        saved = instance.model_copy(update={"version": expected_version + 1})
        if self._outbox_on:
            await outbox.mark(self._outbox, transitions)
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
        self,
        page: PageRequest,
        *,
        workflow_id: str | None = None,
        running: bool | None = None,
        statuses: Sequence[InstanceStatus] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page[Instance]:
        query: Doc = {}
        if workflow_id is not None:
            query["workflow_id"] = workflow_id
        if running is not None:
            query["running"] = running
        if statuses is not None:
            query["status"] = {"$in": sorted({s.value for s in statuses})}
        created: Doc = {}
        if created_after is not None:
            created["$gt"] = encode(created_after)
        if created_before is not None:
            created["$lt"] = encode(created_before)
        if created:
            query["created_at"] = created
        return await pages.page(
            self._instances, Instance, page, pages.created, query, projection=_NO_TRANSITIONS
        )

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
