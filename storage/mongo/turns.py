"""Writers of one document in this process take turns (`Turns.of(key)`).

Claimed versions (`versions`) keep writers of one document from overwriting each other,
across processes, but a writer that loses re-reads and claims again: fifty postings on one
account at once (every send from `world`) make a storm of lost claims. On FerretDB, which
writes one statement at a time, the engine bench's 100 instances then took 359 s, 36 claims
per instance. Inside one process they can wait for each other instead; claims still settle
races with other processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    """An `asyncio.Lock` per key, kept only while somebody holds or waits for it (so the map
    is bounded by the calls in flight)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def of(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
