"""The lease keeper's own rules, on a fake clock (mongomock store): health lasts one TTL from
the last renewal, a renewal that finds its record expired counts a lease loss, and the
takeover hands on every live owner but records of dead replicas."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from flowql.engine.leases import LeaseKeeper
from flowql.storage.mongo import MongoStore
from tests.contract.factories import at
from tests.support.mongomock_async import AsyncDatabase


class Clock:
    def __init__(self) -> None:
        self.now = at(0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_health_renewal_and_lease_losses() -> None:
    database: Any = AsyncDatabase()
    store = MongoStore(database=database)
    await store.open()
    clock = Clock()
    keeper = LeaseKeeper(store, node_id="a", lease_ttl=3.0, clock=clock)
    seen: list[frozenset[str]] = []

    async def takeover(live: frozenset[str]) -> int:
        seen.append(live)
        return 2

    keeper.takeover = takeover
    await keeper.start()
    await asyncio.sleep(0.05)  # the background loops' first beat, at time 0 (the next is 1 s away)
    seen.clear()
    try:
        assert keeper.healthy()
        clock.advance(2.9)
        assert keeper.healthy()
        clock.advance(0.2)
        assert not keeper.healthy(), "no renewal for a whole TTL: the leases may be taken"
        await keeper.renew()  # paused past the TTL: the record had expired
        assert keeper.lease_losses == 1 and keeper.healthy()
        clock.advance(1)
        await keeper.renew()
        assert keeper.lease_losses == 1
        await keeper.take_over()
        assert seen == [frozenset({keeper.owner})] and keeper.live_replicas == 1
        assert keeper.takeovers == 4, "2 at the first beat, 2 now"
    finally:
        await keeper.stop()
    assert await store.live_replicas(clock.now) == [], "a stopped replica leaves"
