"""Wakes instances whose delay or retry is due, from the store's due-time index.

One task for the whole process: it sleeps until the earliest `wake_at` in the store (or
until told that an earlier one was written), then wakes every due instance. A sleeping
instance costs a row in the index and no task or timer of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from .clock import utc_now
from .store import InstanceStore

log = logging.getLogger(__name__)

BATCH = 1000
MAX_SLEEP = 5.0


Due = Callable[[datetime, int], Awaitable[list[str]]]
NextWake = Callable[[], Awaitable[datetime | None]]


class Scheduler:
    """On a shared store `due`/`next_wake` are the replica's own (its leased instances, and
    those poked by other replicas), and `max_sleep` is the poll interval that bounds how
    long a poke waits."""

    def __init__(
        self,
        store: InstanceStore,
        wake: Callable[[str], None],
        *,
        due: Due | None = None,
        next_wake: NextWake | None = None,
        max_sleep: float = MAX_SLEEP,
        store_health: Callable[[bool], None] | None = None,
    ) -> None:
        self._store = store
        self._wake = wake
        self._due: Due = due or store.due_instances
        self._next_wake: NextWake = next_wake or store.next_wake_at
        self._max_sleep = max_sleep
        self._store_health = store_health or (lambda ok: None)
        """Told whether each tick reached the store (a failed tick is a store outage)."""
        self._changed = asyncio.Event()
        self._target: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def notify(self, wake_at: datetime) -> None:
        """A wake-up time was written: re-plan if it is earlier than the one we sleep towards."""
        if self._target is None or wake_at < self._target:
            self._changed.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed")
                self._store_health(False)
                await asyncio.sleep(1.0)

    async def _tick(self) -> None:
        now = utc_now()
        due = await self._due(now, BATCH)
        self._store_health(True)
        for instance_id in due:
            self._wake(instance_id)
        if len(due) == BATCH:
            await asyncio.sleep(0)
            return
        self._target = await self._next_wake()
        self._changed.clear()
        timeout = self._max_sleep
        if self._target is not None:
            timeout = min(self._max_sleep, max(0.0, (self._target - utc_now()).total_seconds()))
        if due and self._target is not None and self._target <= now:
            timeout = max(timeout, 0.05)  # just woken ones are still due until their tasks run
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)
