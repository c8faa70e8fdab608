"""An instance's inbox on MongoDB: one document per event, `_id` `"instance/position"`.

Positions are given by inserting the `_id`: of writers racing for one position, exactly one
wins (the one atomic step FerretDB 1.24 shares with MongoDB) and the others take the next.
So positions have no gaps, and position `p` exists before `p + 1` is tried: a reader after
a position misses nothing. A store tries the position after the last it knows of; when that
is taken (another process appended), the end is found by `_id` lookups (galloping, then
bisecting), which both servers answer from the `_id` index.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import InboxEvent
from flowql.engine.store import MAX_ROWS

from .codec import Doc, decode, encode, schema_fields, utc
from .turns import Turns

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

TAILS = 10_000
"""Instances whose last known position a store remembers (where the next search starts)."""
ATTEMPTS = 100


def event_id(instance_id: str, position: int) -> str:
    return f"{instance_id}/{position}"


class Inbox:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._events = collection
        self._tails: OrderedDict[str, int] = OrderedDict()
        # Appends to one inbox from this process go one at a time: racing for a position
        # costs a lost insert and a search each time, so a burst would cost its square.
        self._turns = Turns()

    async def append(self, event: InboxEvent) -> InboxEvent:
        instance_id = event.instance_id
        async with self._turns.of(instance_id):
            position = self._tails.get(instance_id, 0) + 1
            for _ in range(ATTEMPTS):
                stored = event.model_copy(update={"position": position})
                try:
                    await self._events.insert_one(_doc(stored))
                except DuplicateKeyError:  # another process appended: find the end
                    position = await self._first_free(instance_id, position)
                    continue
                self._remember(instance_id, position)
                return stored
        raise FlowqlError(ErrorCode.UNAVAILABLE, f"instance {instance_id!r}: too many events at once")

    async def after(self, instance_id: str, after: int, limit: int) -> list[InboxEvent]:
        limit = min(limit, MAX_ROWS)
        if limit <= 0:
            return []
        query = {"instance_id": instance_id, "position": {"$gt": after}}
        cursor = self._events.find(query).sort("position", 1).limit(limit)
        return [_event(doc) for doc in await cursor.to_list(None)]

    async def _exists(self, instance_id: str, position: int) -> bool:
        return await self._events.find_one({"_id": event_id(instance_id, position)}, {"_id": 1}) is not None

    async def _first_free(self, instance_id: str, taken: int) -> int:
        """The first position after `taken` (0, or one known to exist) that is free."""
        step = 1
        while await self._exists(instance_id, taken + step):
            taken, step = taken + step, step * 2
        free = taken + step
        while free - taken > 1:
            middle = (taken + free) // 2
            if await self._exists(instance_id, middle):
                taken = middle
            else:
                free = middle
        return free

    def _remember(self, instance_id: str, position: int) -> None:
        self._tails[instance_id] = position
        self._tails.move_to_end(instance_id)
        if len(self._tails) > TAILS:
            self._tails.popitem(last=False)


def _doc(event: InboxEvent) -> Doc:
    return {
        "_id": event_id(event.instance_id, event.position),
        **schema_fields(),
        "event_id": event.id,
        "instance_id": event.instance_id,
        "position": event.position,
        "name": event.name,
        "received_at": encode(event.received_at),
    }


def _event(doc: Doc) -> InboxEvent:
    return InboxEvent(
        id=doc["event_id"],
        instance_id=doc["instance_id"],
        name=decode(doc["name"]),
        received_at=utc(doc["received_at"]),
        position=doc["position"],
    )
