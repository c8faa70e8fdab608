"""`OutboxStore` on MongoDB: one document per instance with transitions to publish.

MongoDB gives no multi-document atomicity without a replica set, so the entry is written
*before* the instance's compare-and-set: a crash between the two leaves an entry whose
`upto` the stored transitions do not cover yet. The publisher trusts an entry only as far as
the stored transitions go, and a later write of the instance (which reuses the same `seq`
numbers) covers it; an entry of a terminated instance is done once what is stored is out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flowql.engine.models import Transition
from flowql.engine.store import OutboxEntry

from .codec import Doc

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


async def mark(outbox: AsyncCollection[Doc], transitions: Sequence[Transition]) -> None:
    if not transitions:
        return
    first, last = transitions[0], transitions[-1]
    await outbox.update_one(
        {"_id": first.instance_id},
        {"$max": {"upto": last.seq}, "$setOnInsert": {"published": first.seq - 1, "since": time.time_ns()}},
        upsert=True,
    )


def occurrence_key(occurrence_id: str) -> str:
    return f"occurrence:{occurrence_id}"


async def mark_occurrence(outbox: AsyncCollection[Doc], occurrence_id: str) -> None:
    await outbox.update_one(
        {"_id": occurrence_key(occurrence_id)},
        {"$setOnInsert": {"upto": 1, "published": 0, "since": time.time_ns()}},
        upsert=True,
    )


class MongoOutboxStore:
    _outbox: AsyncCollection[Doc]
    _outbox_on: bool = False

    def enable_outbox(self) -> None:
        """Record outbox entries from now on (only while something publishes them)."""
        self._outbox_on = True

    async def pending_outbox(self, limit: int) -> list[OutboxEntry]:
        docs = await self._outbox.find({}).sort("since", 1).limit(limit).to_list(None)
        return [
            OutboxEntry(doc["_id"], int(doc["upto"]), int(doc["published"]), int(doc.get("since", 0)))
            for doc in docs
        ]

    async def mark_published(self, entry: OutboxEntry, published: int) -> None:
        if published >= entry.upto:
            done = await self._outbox.delete_one({"_id": entry.instance_id, "upto": entry.upto})
            if done.deleted_count == 1:
                return
        await self._outbox.update_one({"_id": entry.instance_id}, {"$max": {"published": published}})
