"""Carries transitions committed by other replicas into this replica's event bus.

The store is the carrier: every `interval` the relay asks which instances were written
since its last look (by the time the store wrote them, `written_at`, read back `overlap`
seconds to catch writes stamped before a slower commit; every `SWEEP_EVERY` looks,
`SWEEP_WINDOW` seconds back, for commits slower still), and for each instance whose
`transition_count` is past what this bus has carried, reads the missing transitions by
`seq` and publishes them. The bus then fans them out exactly as local ones, so
subscriptions, `instanceUpdated` and waiters of `runWorkflow(wait: true)` need nothing of
their own.

The relay is also the bus's gate: it remembers, per instance, the last `seq` this bus
carried, local commits included, and drops anything at or below it. So a transition is
published once and in order even when the relay reads it back from the store before the
local commit that wrote it publishes it. The memory is an LRU of `MAX_TRACKED` instances,
kept while nobody listens (no subscription, no waiter: then the relay does not read the
store), since local commits go on passing the gate: forgetting it there let the relay
publish again what the bus had carried just before (a GraphQL subscriber counted a
`stageTransitions(workflowID)` transition twice, and so did the metrics). Of an instance it
does not track it carries only transitions made at most `REPLAY_SLACK` before its window,
never old history.

Why `written_at` and not the instance's `updated_at`: a version whose writer died after
claiming it is written by another replica seconds later (storage/mongo/versions.py); its
`updated_at` is its first writer's, already out of every window (in testing: a terminal
transition so finished never reached the subscribers of another replica).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from .bus import EventBus
from .clock import utc_now
from .executor import Executor
from .models import InstanceStatus, Transition
from .replicas import LeaseStore
from .store import InstanceStore

log = logging.getLogger(__name__)

MAX_TRACKED = 50_000
BATCH = 500
SWEEP_EVERY = 25
SWEEP_WINDOW = timedelta(seconds=30)
REPLAY_SLACK = timedelta(seconds=30)


class Relay:
    def __init__(
        self,
        store: InstanceStore,
        leases: LeaseStore,
        bus: EventBus,
        executor: Executor,
        *,
        interval: float = 0.2,
        overlap: float = 2.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._leases = leases
        self._bus = bus
        self._executor = executor
        self.interval = interval
        self._overlap = timedelta(seconds=overlap)
        self._clock = clock
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._since = clock() - self._overlap
        self._polls = 0
        self._task: asyncio.Task[None] | None = None
        self.relayed = 0
        self.lag_observers: list[Callable[[float], None]] = []
        """Called with the seconds between a relayed transition's commit time and its publish."""
        bus.set_gate(self._admit)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _admit(self, transition: Transition) -> bool:
        """The bus's gate: each `seq` of an instance once."""
        if transition.seq <= self._seen.get(transition.instance_id, 0):
            return False
        self._seen[transition.instance_id] = transition.seq
        self._seen.move_to_end(transition.instance_id)
        if len(self._seen) > MAX_TRACKED:
            self._seen.popitem(last=False)
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay poll failed; retrying")
            await asyncio.sleep(self.interval)

    async def poll(self) -> int:
        """One look at the store; returns how many transitions were published."""
        now = self._clock()
        if self._bus.subscription_count == 0 and not self._executor.has_waiters:
            self._since = now - self._overlap
            return 0
        self._polls += 1
        window = self._since
        if self._polls % SWEEP_EVERY == 0:
            window = min(window, now - SWEEP_WINDOW)
        changes = await self._leases.changed_instances(window, BATCH)
        published = 0
        for change in changes:
            last = self._seen.get(change.instance_id)  # this replica's own publishes count too
            if last is not None and change.transition_count <= last:
                continue
            missing = await self._store.list_transitions(change.instance_id, last or 0)
            if last is None:
                missing = [t for t in missing if t.at >= window - REPLAY_SLACK]
            for transition in missing:
                published += await self._publish(transition)
        if len(changes) == BATCH:
            self._since = changes[-1].written_at  # more to read: continue from there at once
        else:
            self._since = now - self._overlap
        return published

    async def _publish(self, transition: Transition) -> int:
        if not self._bus.publish(transition):
            return 0
        self.relayed += 1
        lag = (self._clock() - transition.at).total_seconds()
        for observe in self.lag_observers:
            observe(max(0.0, lag))
        if transition.instance_status is not InstanceStatus.RUNNING:
            await self._executor.finished_elsewhere(transition)
        return 1


__all__ = ["Relay"]
