"""The heartbeat of one replica: keeps its record (and so its instance leases) alive and
takes over the instances of replicas whose record expired.

Every `lease_ttl / 3` seconds, in two independent loops: renew the record; and hand the set
of live owners to `takeover`, which claims running instances whose owner is not among them
(each claim decided once, bumping the instance's fencing epoch). A replica killed at any moment
is therefore taken over between `lease_ttl` and `lease_ttl * 4/3` after its last renewal,
plus the time to claim. A replica that could not renew for longer than its TTL (paused,
cut off) counts a lease loss; whatever was claimed meanwhile is fenced by the epoch, the
rest it still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from .clock import utc_now
from .replicas import LeaseStore, ReplicaRecord, join, new_owner

log = logging.getLogger(__name__)

Takeover = Callable[[frozenset[str]], Awaitable[int]]
FORGET_AFTER_TTLS = 20
"""Expired records are deleted this many TTLs after expiry (they only serve diagnosis)."""


class LeaseKeeper:
    def __init__(
        self,
        store: LeaseStore,
        *,
        node_id: str,
        lease_ttl: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self.node_id = node_id
        self.lease_ttl = lease_ttl
        self.owner = new_owner(node_id)
        self._clock = clock
        self._record: ReplicaRecord | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.takeover: Takeover | None = None
        self.renewed_at: datetime | None = None
        self.live_replicas = 0
        self.lease_losses = 0
        self.takeovers = 0
        self._renewals = 0

    @property
    def interval(self) -> float:
        return self.lease_ttl / 3

    def healthy(self, now: datetime | None = None) -> bool:
        """True while the last renewal is younger than the TTL: our leases still stand."""
        if self.renewed_at is None:
            return False
        return (now or self._clock()) - self.renewed_at < timedelta(seconds=self.lease_ttl)

    async def start(self) -> None:
        """Join (raises StartRefused), take over what is orphaned, then beat in the background."""
        now = self._clock()
        self._record = await join(
            self._store,
            owner=self.owner,
            node_id=self.node_id,
            lease_ttl=self.lease_ttl,
            now=now,
        )
        self.renewed_at = now
        self._tasks = [
            asyncio.create_task(self._every_interval(self.renew, "lease renewal"), name="lease-renewal"),
            asyncio.create_task(self._every_interval(self.take_over, "takeover"), name="lease-takeover"),
        ]

    async def stop(self) -> None:
        """Stop beating and remove the record, so the others take over at their next beat."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._record is not None:
            with contextlib.suppress(Exception):
                await self._store.remove_replica(self.owner)

    async def _every_interval(self, step: Callable[[], Awaitable[None]], what: str) -> None:
        """Run `step` every interval, measured from start to start: a slow takeover never
        delays a renewal (they are separate loops), and a slow renewal does not drift."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; retrying", what)
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))

    async def renew(self) -> None:
        """Push this replica's record (every lease it holds) a TTL forward."""
        assert self._record is not None, "start() first"
        now = self._clock()
        self._record = replace(self._record, expires_at=now + timedelta(seconds=self.lease_ttl))
        if not await self._store.renew_replica(self._record, now):
            self.lease_losses += 1
            log.warning(
                "lease record had expired (paused or cut off past the TTL); instances claimed "
                "meanwhile are fenced off",
                extra={"owner": self.owner},
            )
        self.renewed_at = now
        self._renewals += 1
        if self._renewals % FORGET_AFTER_TTLS == 0:
            keep = timedelta(seconds=FORGET_AFTER_TTLS * self.lease_ttl)
            await self._store.forget_replicas(now - keep)

    async def take_over(self) -> None:
        """Claim the running instances of owners whose record expired."""
        live = await self._store.live_replicas(self._clock())
        self.live_replicas = len(live)
        if self.takeover is not None:
            taken = await self.takeover(frozenset(r.owner for r in live) | {self.owner})
            if taken:
                self.takeovers += taken
                log.info("took over instances", extra={"count": taken})


__all__ = ["LeaseKeeper", "Takeover"]
