"""Stage histories on MongoDB: one document per ended activity, `_id` `"instance/stage/n"`.

Entries are written with the save that counts them (carried by its version claim, before
the instance document), so a crash never loses one; an entry past its stage's
`history_count` is from a save that lost and is replaced by the next save of that `_id`.
Reads name the `_id`s of the ranges asked for: an `_id` `$in` is one indexed query on
MongoDB (FerretDB 1.24 pushes only an `_id` equality down to its SQLite backend, and scans
for anything else: docs/mongodb.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flowql.engine.models import Activity, HistoryEntry
from flowql.engine.store import MAX_RANGES, HistoryRange

from .codec import Doc, decode, encode, schema_fields

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

IDS_PER_QUERY = 1000


def entry_id(instance_id: str, stage: int, n: int) -> str:
    return f"{instance_id}/{stage}/{n}"


def rows(entries: Sequence[HistoryEntry]) -> list[Doc]:
    return [
        {
            "_id": entry_id(e.instance_id, e.stage, e.n),
            **schema_fields(),
            "instance_id": e.instance_id,
            "stage": e.stage,
            "n": e.n,
            "activity": encode(e.activity.model_dump()),
        }
        for e in entries
    ]


def _entry(row: Doc) -> HistoryEntry:
    activity = Activity.model_validate(decode(row["activity"]))
    return HistoryEntry(instance_id=row["instance_id"], stage=row["stage"], n=row["n"], activity=activity)


async def read(
    collection: AsyncCollection[Doc], ranges: Sequence[HistoryRange]
) -> dict[tuple[str, int], list[HistoryEntry]]:
    if len(ranges) > MAX_RANGES:
        raise ValueError(f"at most {MAX_RANGES} history ranges per read")
    found: dict[tuple[str, int], list[HistoryEntry]] = {(r.instance_id, r.stage): [] for r in ranges}
    ids = [entry_id(r.instance_id, r.stage, n) for r in ranges for n in range(r.after + 1, r.until + 1)]
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        for row in await collection.find({"_id": {"$in": chunk}}).to_list(None):
            entry = _entry(row)
            found[(entry.instance_id, entry.stage)].append(entry)
    for entries in found.values():
        entries.sort(key=lambda e: e.n)
    return found
