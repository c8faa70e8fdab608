"""What a replica on a shared store (MongoDB) adds to the engine: its lease keeper, the
takeover of orphaned instances, pokes for work accepted here for another replica's
instance, its own timers, and the relay of other replicas' transitions into its bus.

Nothing here is a consensus protocol: every decision is one claimed compare-and-set in the
store (a replica record, an instance's owner and epoch), so MongoDB decides.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .bus import EventBus
from .executor import Executor
from .leases import LeaseKeeper
from .relay import Relay
from .replicas import LeaseStore
from .store import InstanceStore

log = logging.getLogger(__name__)

CLAIM_BATCH = 1000
"""Instances claimed per heartbeat at most; the rest at the next one."""


class Cluster:
    def __init__(
        self,
        leases: LeaseStore,
        store: InstanceStore,
        bus: EventBus,
        executor: Executor,
        *,
        node_id: str,
        lease_ttl: float,
        poll_interval: float = 0.2,
    ) -> None:
        self.leases = leases
        self.keeper = LeaseKeeper(leases, node_id=node_id, lease_ttl=lease_ttl)
        self.owner = self.keeper.owner
        self._executor = executor
        executor.owner = self.owner
        self.keeper.takeover = self._take_over
        self.relay = Relay(store, leases, bus, executor, interval=poll_interval)
        self.poll_interval = poll_interval

    async def start(self) -> None:
        """Join (may raise StartRefused), claim what is orphaned now, then run in the background."""
        await self.keeper.start()
        await self.keeper.take_over()
        self.relay.start()

    async def stop(self) -> None:
        """After the executor stopped: leave, so the others take over at their next beat."""
        await self.relay.stop()
        await self.keeper.stop()

    async def _take_over(self, live: frozenset[str]) -> int:
        claimed = await self.leases.claim_orphans(self.owner, live, CLAIM_BATCH)
        for instance_id in claimed:
            self._executor.wake(instance_id)
        return len(claimed)

    async def due(self, now: datetime, limit: int) -> list[str]:
        return await self.leases.due_for(self.owner, now, limit)

    async def next_wake(self) -> datetime | None:
        return await self.leases.next_wake_for(self.owner)

    async def poke(self, instance_id: str) -> None:
        await self.leases.poke(instance_id)

    async def held(self) -> int:
        return await self.leases.count_held(self.owner)


__all__ = ["Cluster"]
