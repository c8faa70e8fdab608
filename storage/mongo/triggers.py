"""`TriggerStore` on MongoDB: triggers and their occurrences."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import conflict
from flowql.engine.models import Trigger, TriggerOccurrence
from flowql.engine.pagination import Page, PageRequest

from . import outbox, pages
from .codec import Doc, encode, from_doc, to_doc
from .server import Server, soft_delete

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


OCCURRENCE_ID = "occurrence_id"


def _occurrence_doc(occurrence: TriggerOccurrence) -> Doc:
    """An occurrence of a delivered event has the `_id` `trigger_id/event_id`, so a redelivery
    is a duplicate key: the dedup needs no partial unique index (FerretDB has none). The
    occurrence's own id, which pages and the API use, is `occurrence_id`."""
    doc = to_doc(occurrence, **{OCCURRENCE_ID: occurrence.id})
    if occurrence.event_id is not None:
        doc["_id"] = f"{occurrence.trigger_id}/{occurrence.event_id}"
    return doc


def _occurrence(doc: Doc) -> TriggerOccurrence:
    return from_doc(TriggerOccurrence, doc | {"_id": doc[OCCURRENCE_ID]})


class MongoTriggerStore:
    _server: Server
    _outbox: AsyncCollection[Doc]
    _outbox_on: bool = False
    _triggers: AsyncCollection[Doc]
    _occurrences: AsyncCollection[Doc]

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
        query: Doc = dict(pages.LIVE)
        if name:
            query["name"] = {"$regex": re.escape(name)}
        return await pages.page(self._triggers, Trigger, page, pages.created, query)

    async def triggers_for_event(self, event_type: str) -> list[Trigger]:
        query = {"event": event_type, **pages.LIVE}
        cursor = self._triggers.find(query).sort([("created_at", 1), ("_id", 1)])
        return [from_doc(Trigger, doc) for doc in await cursor.to_list(None)]

    async def delete_trigger(self, trigger_id: str, at: datetime) -> bool:
        return await soft_delete(self._triggers, trigger_id, {"deleted_at": encode(at)}, self._server)

    async def insert_occurrence(self, occurrence: TriggerOccurrence) -> bool:
        if self._outbox_on:
            await outbox.mark_occurrence(self._outbox, occurrence.id)
        try:
            await self._occurrences.insert_one(_occurrence_doc(occurrence))
        except DuplicateKeyError:
            if self._outbox_on:
                await self._outbox.delete_one({"_id": outbox.occurrence_key(occurrence.id)})
            return False
        return True

    async def get_occurrence(self, occurrence_id: str) -> TriggerOccurrence | None:
        doc = await self._occurrences.find_one({OCCURRENCE_ID: occurrence_id})
        return _occurrence(doc) if doc else None

    async def get_occurrences(self, occurrence_ids: Sequence[str]) -> dict[str, TriggerOccurrence]:
        query = {"_id": {"$in": list(set(occurrence_ids))}}
        docs = await self._occurrences.find(query).to_list(None)
        return {doc["_id"]: from_doc(TriggerOccurrence, doc) for doc in docs}

    async def list_occurrences(self, trigger_id: str, page: PageRequest) -> Page[TriggerOccurrence]:
        query = {"trigger_id": trigger_id}
        return await pages.page(
            self._occurrences,
            TriggerOccurrence,
            page,
            pages.dated,
            query,
            time_field="date",
            id_field=OCCURRENCE_ID,
            decode=_occurrence,
        )
