"""Keyset pages over `(time, _id)` shared by the MongoDB store's concerns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from flowql.engine.models import Instance, Trigger, TriggerOccurrence, Workflow
from flowql.engine.pagination import Direction, Page, PageRequest, make_page

from .codec import Doc, from_doc

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

M = TypeVar("M", bound=BaseModel)

LIVE: Doc = {"deleted_at": None}
"""The filter of records not soft-deleted."""


def created(record: Workflow | Instance | Trigger) -> tuple[datetime, str]:
    return record.created_at, record.id


def dated(record: TriggerOccurrence) -> tuple[datetime, str]:
    return record.date, record.id


async def page(
    collection: AsyncCollection[Doc],
    model: type[M],
    request: PageRequest,
    key: Callable[[M], tuple[datetime, str]],
    query: Doc,
    *,
    time_field: str = "created_at",
    id_field: str = "_id",
    projection: Doc | None = None,
    decode: Callable[[Doc], M] | None = None,
) -> Page[M]:
    """One range query over `(time_field, id_field)` in the request's direction."""
    order = -1
    if request.after is not None:
        op, order = ("$lt", -1) if request.after.direction is Direction.OLDER else ("$gt", 1)
        moment, ident = request.after.created_at, request.after.id
        after = {"$or": [{time_field: {op: moment}}, {time_field: moment, id_field: {op: ident}}]}
        query = {"$and": [query, after]} if query else after
    cursor = collection.find(query, projection).sort([(time_field, order), (id_field, order)])
    docs = await cursor.limit(request.page_size + 1).to_list(None)
    read = decode or (lambda doc: from_doc(model, doc))
    return make_page([read(doc) for doc in docs], request, key)
