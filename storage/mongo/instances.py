"""`InstanceStore` on MongoDB: instance documents (with the wake-up fields), their transitions
(one document each, `_id` `"instance/seq"`), stage histories (`history`) and inbox events
(`inbox`).

An instance changes only through `Versioned` (a claimed version, see `versions`): the claim
carries the save's transitions and history entries, which are written before the instance
document, so a crash never loses one, and readers only trust rows up to the instance's
`transition_count` and its stages' `history_count`. A takeover by another replica is such a
claimed version too (`leases`): a save that loses to one raises `LeaseLost` (the stored epoch
is not the saver's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from flowql.engine.errors import LeaseLost, VersionConflict, conflict
from flowql.engine.models import HistoryEntry, InboxEvent, Instance, InstanceStatus, Transition
from flowql.engine.pagination import Page, PageRequest
from flowql.engine.store import MAX_ROWS, HistoryRange

from . import outbox, pages
from .codec import Doc, decode, encode, from_doc, schema_fields, to_doc, utc
from .drafts import Drafts
from .history import read as read_history
from .history import rows as history_rows
from .inbox import Inbox
from .server import Server
from .versions import Versioned, write_rows

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


WRITTEN_AT = "written_at"
"""When the store wrote the instance's current version (the feed of `changed_instances`)."""


def _instance_doc(instance: Instance) -> Doc:
    return to_doc(instance, running=not instance.terminated)


def _transition_rows(transitions: Sequence[Transition]) -> list[Doc]:
    return [
        {"_id": f"{t.instance_id}/{t.seq}", **schema_fields(), **encode(t.model_dump())} for t in transitions
    ]


def _transition(row: Doc) -> Transition:
    return Transition.model_validate(decode({k: v for k, v in row.items() if k in Transition.model_fields}))


class MongoInstanceStore:
    _instances: AsyncCollection[Doc]
    _transitions: AsyncCollection[Doc]
    _history: AsyncCollection[Doc]
    _inbox: Inbox
    _versions: Versioned
    _server: Server
    _outbox: AsyncCollection[Doc]
    _outbox_on: bool = False

    def _instance_versions(self, claims: AsyncCollection[Doc], drafts: Drafts) -> Versioned:
        return Versioned(
            "instance",
            self._instances,
            claims,
            drafts,
            self._materialize,
            server=self._server,
            stamp=WRITTEN_AT,
        )

    async def _materialize(self, draft: Doc) -> None:
        """A claimed save's transitions and history entries, stored before the instance
        document that counts them (rows beyond an instance's `transition_count` or a stage's
        `history_count` are from a lost write: overwritten)."""
        await write_rows(self._transitions, draft.get("transitions", []))
        await write_rows(self._history, draft.get("history", []))

    # --- instances ----------------------------------------------------------------------
    async def insert_instance(
        self, instance: Instance, transitions: Sequence[Transition], history: Sequence[HistoryEntry] = ()
    ) -> None:
        if self._outbox_on:
            await outbox.mark(self._outbox, transitions)
        await self._materialize(
            {"transitions": _transition_rows(transitions), "history": history_rows(history)}
        )
        if not await self._versions.insert(_instance_doc(instance)):
            raise conflict(f"instance {instance.id!r} already exists")

    async def save_instance(
        self,
        instance: Instance,
        *,
        expected_version: int,
        transitions: Sequence[Transition],
        history: Sequence[HistoryEntry] = (),
    ) -> Instance:
        saved = instance.model_copy(update={"version": expected_version + 1})
        if self._outbox_on:
            await outbox.mark(self._outbox, transitions)
        carried = {"transitions": _transition_rows(transitions), "history": history_rows(history)}
        fence = ("lease_epoch", instance.lease_epoch)
        if not await self._versions.replace(_instance_doc(saved), expected_version, carried, fence=fence):
            stored = await self._instances.find_one({"_id": saved.id}, {"lease_epoch": 1})
            if stored is not None and int(stored.get("lease_epoch") or 0) != instance.lease_epoch:
                raise LeaseLost(saved.id)  # fenced: another replica took it over (leases)
            raise VersionConflict("instance", saved.id)
        return saved

    async def get_instance(self, instance_id: str) -> Instance | None:
        doc = await self._instances.find_one({"_id": instance_id})
        return from_doc(Instance, doc) if doc else None

    async def get_instances(self, instance_ids: Sequence[str]) -> dict[str, Instance]:
        query = {"_id": {"$in": list(set(instance_ids))}}
        docs = await self._instances.find(query).to_list(None)
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
        return await pages.page(self._instances, Instance, page, pages.created, query)

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

    async def list_transitions(
        self, instance_id: str, after_seq: int = 0, limit: int = MAX_ROWS
    ) -> list[Transition]:
        limit = min(limit, MAX_ROWS)
        doc = await self._instances.find_one({"_id": instance_id}, {"transition_count": 1})
        if doc is None or limit <= 0:
            return []
        query = {"instance_id": instance_id, "seq": {"$gt": after_seq, "$lte": doc["transition_count"]}}
        cursor = self._transitions.find(query).sort("seq", 1).limit(limit)
        return [_transition(row) for row in await cursor.to_list(None)]

    async def get_history(self, ranges: Sequence[HistoryRange]) -> dict[tuple[str, int], list[HistoryEntry]]:
        return await read_history(self._history, ranges)

    async def count_instances(self) -> dict[InstanceStatus, int]:
        cursor = await self._instances.aggregate([{"$group": {"_id": "$status", "count": {"$sum": 1}}}])
        return {InstanceStatus(row["_id"]): row["count"] for row in await cursor.to_list(None)}

    # --- inbox --------------------------------------------------------------------------
    async def append_event(self, event: InboxEvent) -> InboxEvent:
        return await self._inbox.append(event)

    async def list_inbox(self, instance_id: str, after: int = 0, limit: int = MAX_ROWS) -> list[InboxEvent]:
        return await self._inbox.after(instance_id, after, limit)
