"""Replicas of one shared store (MongoDB): who is alive, and what a store offers them.

Each running `flowql serve` on a shared store has one record: its owner token
(`node_id/random`, new for every process), its lease TTL, and `expires_at`, pushed forward
by its heartbeat. That expiry is the expiry of every instance lease the replica holds (an
instance names its owner token and a fencing epoch): one write renews them all.

Joining refuses a replica whose lease TTL differs from a live replica's (a shorter TTL would
take over instances the others still hold). A record of the same `node_id` as the joining
replica is taken for this node's previous life (killed, then restarted): it is removed, so
its instances are taken over at once instead of after its TTL. Node ids are therefore to be
unique among live replicas (the default, host:pid, is).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .errors import StartRefused


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaRecord:
    owner: str
    node_id: str
    lease_ttl: float
    started_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceChange:
    """An instance whose version was written (by the store's clock) at `written_at`, which
    then had `transition_count` transitions."""

    instance_id: str
    transition_count: int
    written_at: datetime


class LeaseStore(Protocol):
    """What a shared store offers to coordinate replicas (MongoDB; SQLite is single-host).

    Every decision is one claimed compare-and-set in the store (a unique insert on every
    server); nothing here is a consensus protocol of our own."""

    async def live_replicas(self, now: datetime) -> list[ReplicaRecord]:
        """Records whose `expires_at` is after `now`."""

    async def put_replica(self, record: ReplicaRecord) -> None:
        """Insert or replace the record of `record.owner`."""

    async def renew_replica(self, record: ReplicaRecord, now: datetime) -> bool:
        """Write `record` (its `expires_at` pushed forward); False when the stored one had
        expired before `now` (this replica was paused or cut off past its TTL) or was gone.
        The record is written either way."""

    async def remove_replica(self, owner: str) -> None: ...

    async def forget_replicas(self, before: datetime) -> int:
        """Delete records that expired before `before` (housekeeping)."""

    # --- instance leases ----------------------------------------------------------------
    async def claim_orphans(self, owner: str, live: frozenset[str], limit: int) -> list[str]:
        """Take over up to `limit` running instances whose owner is not in `live`: each a
        claimed new version of the instance naming `owner` with the epoch bumped, so exactly
        one of several claimers wins it, and any save based on the state before loses.
        Returns the instances won."""

    async def poke(self, instance_id: str) -> None:
        """Work for a running instance arrived here (an event in its inbox): make its owner
        drive it again soon (see `due_for`), whichever replica that is."""

    async def due_for(self, owner: str, now: datetime, limit: int) -> list[str]:
        """Running instances of `owner` whose timer is due, and those poked for it; the pokes
        returned are consumed (the caller drives them next)."""

    async def next_wake_for(self, owner: str) -> datetime | None: ...

    async def count_held(self, owner: str) -> int:
        """Running instances whose lease `owner` holds."""

    async def changed_instances(self, since: datetime, limit: int) -> list[InstanceChange]:
        """Instances written at or after `since`, oldest write first (the relay's feed). The
        time is that of the write itself, not of the change it stores: a version finished by
        another writer after its own died counts when it was finally written."""


def new_owner(node_id: str) -> str:
    return f"{node_id}/{secrets.token_hex(4)}"


async def join(
    store: LeaseStore, *, owner: str, node_id: str, lease_ttl: float, now: datetime
) -> ReplicaRecord:
    """Register this replica, or raise `StartRefused` with one line saying why not."""
    others = [r for r in await store.live_replicas(now) if r.owner != owner]
    differing = [r for r in others if r.lease_ttl != lease_ttl and r.node_id != node_id]
    if differing:
        names = ", ".join(sorted(r.node_id for r in differing)[:5])
        ttls = ", ".join(f"{t:g}" for t in sorted({r.lease_ttl for r in differing}))
        raise StartRefused(
            f"--lease-ttl {lease_ttl:g} differs from the {ttls} s of the running replicas ({names}): "
            "every replica of one store must use the same lease TTL"
        )
    for previous in (r for r in others if r.node_id == node_id):
        await store.remove_replica(previous.owner)  # this node's previous life: taken over now
    record = ReplicaRecord(
        owner=owner,
        node_id=node_id,
        lease_ttl=lease_ttl,
        started_at=now,
        expires_at=now + timedelta(seconds=lease_ttl),
    )
    await store.put_replica(record)
    return record


__all__ = ["InstanceChange", "LeaseStore", "ReplicaRecord", "join", "new_owner"]
