"""`engine.replicas.LeaseStore` on MongoDB: replica records, instance leases, pokes.

- One document per running replica in `replicas` (`_id` the owner token). Each replica
  writes only its own record (renewal is a read then a replace: no atomic update needed).
- An instance's lease is two fields of its document, `lease_owner` and `lease_epoch`. A
  takeover is a **claimed new version** of the instance (`versions.Versioned`, the same
  path as every save): it inserts `instance/{id}@{v+1}`, whose unique `_id` lets exactly one
  writer make version `v + 1`, on FerretDB too (where a filtered update is a query then a
  write, so `update_one({_id, epoch})` let several claimers "win"). So a takeover and the
  former owner's save based on version `v` cannot both succeed: whichever claims `v + 1`
  second writes nothing, and the former owner, reading the instance again, sees it is no
  longer its own. A claimer killed between its claim and its write is rolled forward by the
  next writer after `ABANDONED` (its claim holds the whole document), as any save is.
- A poke is a document in `pokes` naming the instance's owner: work (an event) arrived at
  another replica. The owner's scheduler takes its pokes with its due timers and drives
  those instances again, which reads the inbox; the instance document is not touched, so a
  poke never races the owner's save.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flowql.engine.replicas import InstanceChange, ReplicaRecord

from .codec import Doc, encode, utc
from .instances import WRITTEN_AT
from .versions import Versioned

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


class MongoLeaseStore:
    _instances: AsyncCollection[Doc]
    _versions: Versioned
    _replicas: AsyncCollection[Doc]
    _pokes: AsyncCollection[Doc]

    # --- replica records ----------------------------------------------------------------
    async def live_replicas(self, now: datetime) -> list[ReplicaRecord]:
        docs = await self._replicas.find({"expires_at": {"$gt": encode(now)}}).to_list(None)
        return [_record(doc) for doc in docs]

    async def put_replica(self, record: ReplicaRecord) -> None:
        await self._replicas.replace_one({"_id": record.owner}, _fields(record), upsert=True)

    async def renew_replica(self, record: ReplicaRecord, now: datetime) -> bool:
        before = await self._replicas.find_one({"_id": record.owner}, {"expires_at": 1})
        await self.put_replica(record)
        return before is not None and utc(before["expires_at"]) > now

    async def remove_replica(self, owner: str) -> None:
        await self._replicas.delete_one({"_id": owner})

    async def forget_replicas(self, before: datetime) -> int:
        result = await self._replicas.delete_many({"expires_at": {"$lt": encode(before)}})
        return int(result.deleted_count)

    # --- instance leases ----------------------------------------------------------------
    async def claim_orphans(self, owner: str, live: frozenset[str], limit: int) -> list[str]:
        query = {"running": True, "lease_owner": {"$nin": sorted(live)}}
        claimed: list[str] = []
        for doc in await self._instances.find(query).limit(limit).to_list(None):
            if await self.take_over(doc, owner):
                claimed.append(doc["_id"])
        return claimed

    async def take_over(self, doc: Doc, owner: str) -> bool:
        """Write version `v + 1` of the instance stored as `doc` (at `v`), leased to `owner`
        with the next epoch; False when another writer made `v + 1` first. The document is
        changed as stored (fields this module does not know of are kept)."""
        version = int(doc["version"])
        taken = {
            **doc,
            "lease_owner": owner,
            "lease_epoch": int(doc.get("lease_epoch") or 0) + 1,
            "version": version + 1,
        }
        return await self._versions.replace(taken, version, {"transitions": []})

    async def poke(self, instance_id: str) -> None:
        # By `_id` alone, `running` checked here: FerretDB scans for any other filter (`server`).
        doc = await self._instances.find_one({"_id": instance_id}, {"lease_owner": 1, "running": 1})
        if doc is not None and doc.get("running") and doc.get("lease_owner"):
            await self._pokes.insert_one({"owner": doc["lease_owner"], "instance_id": instance_id})

    async def due_for(self, owner: str, now: datetime, limit: int) -> list[str]:
        timers = {"lease_owner": owner, "running": True, "wake_at": {"$ne": None, "$lte": encode(now)}}
        docs = await self._instances.find(timers, {"_id": 1}).limit(limit).to_list(None)
        due = [doc["_id"] for doc in docs]
        pokes = await self._pokes.find({"owner": owner}).limit(limit).to_list(None)
        if pokes:  # handed to the driver now: it reads the instance (and inbox) after this
            await self._pokes.delete_many({"_id": {"$in": [p["_id"] for p in pokes]}})
        return list(dict.fromkeys(due + [p["instance_id"] for p in pokes]))

    async def next_wake_for(self, owner: str) -> datetime | None:
        query = {"lease_owner": owner, "running": True, "wake_at": {"$ne": None}}
        docs = await self._instances.find(query, {"wake_at": 1}).sort("wake_at", 1).limit(1).to_list(None)
        return utc(docs[0]["wake_at"]) if docs else None

    async def count_held(self, owner: str) -> int:
        return int(await self._instances.count_documents({"lease_owner": owner, "running": True}))

    async def changed_instances(self, since: datetime, limit: int) -> list[InstanceChange]:
        projection = {"transition_count": 1, WRITTEN_AT: 1}
        cursor = self._instances.find({WRITTEN_AT: {"$gte": encode(since)}}, projection)
        docs = await cursor.sort([(WRITTEN_AT, 1), ("_id", 1)]).limit(limit).to_list(None)
        return [
            InstanceChange(
                instance_id=doc["_id"],
                transition_count=int(doc.get("transition_count") or 0),
                written_at=utc(doc[WRITTEN_AT]),
            )
            for doc in docs
        ]


def _fields(record: ReplicaRecord) -> Doc:
    return {
        "node_id": record.node_id,
        "lease_ttl": record.lease_ttl,
        "started_at": encode(record.started_at),
        "expires_at": encode(record.expires_at),
    }


def _record(doc: Doc) -> ReplicaRecord:
    return ReplicaRecord(
        owner=doc["_id"],
        node_id=doc["node_id"],
        lease_ttl=float(doc["lease_ttl"]),
        started_at=utc(doc["started_at"]),
        expires_at=utc(doc["expires_at"]),
    )


__all__ = ["MongoLeaseStore"]
