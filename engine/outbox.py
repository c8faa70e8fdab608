"""Publishes Formance's orchestration events from the outbox, after commit, at least once.

A write that stores transitions leaves an outbox entry (`OutboxStore`). This loop reads the
entries, turns the stored transitions after `published` into events (`events.events_of`),
hands them to a `Sink` (NATS JetStream in production), and only then records them as
published. A crash anywhere in between republishes; each event keeps its id, so the sink
deduplicates (`Nats-Msg-Id`). A sink failure is retried with a growing delay, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from .events import OutgoingEvent, events_of, trigger_event
from .store import InstanceStore, OutboxEntry, OutboxStore, TriggerStore

log = logging.getLogger(__name__)

BATCH = 256
MAX_BACKOFF = 30.0


class Sink(Protocol):
    async def publish(self, events: Sequence[OutgoingEvent]) -> None:
        """Publish in order; return only once every event is accepted (else raise)."""


OCCURRENCE = "occurrence:"
ORPHAN_AFTER_NS = 60 * 10**9
"""An occurrence entry whose occurrence is still absent after this long was a duplicate
written by a process that died before removing its entry (MongoDB): dropped."""


class _OutboxInstances(InstanceStore, TriggerStore, OutboxStore, Protocol): ...


class OutboxPublisher:
    def __init__(self, store: _OutboxInstances, sink: Sink, *, poll: float = 1.0) -> None:
        self._store = store
        self._sink = sink
        self._poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.failures = 0

    def notify(self) -> None:
        """Something was committed: look at the outbox now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def drain_once(self) -> int:
        """Publish what the outbox holds now; returns how many events went out."""
        sent = 0
        for entry in await self._store.pending_outbox(BATCH):
            sent += await self._publish(entry)
        return sent

    async def _publish(self, entry: OutboxEntry) -> int:
        if entry.instance_id.startswith(OCCURRENCE):
            return await self._publish_occurrence(entry)
        transitions = await self._store.list_transitions(entry.instance_id, entry.published)
        events = list(events_of(transitions))
        if events:
            await self._sink.publish(events)
        published = transitions[-1].seq if transitions else entry.published
        if transitions and transitions[-1].instance_status.value != "RUNNING":
            published = max(published, entry.upto)  # terminated: nothing more will be stored
        if transitions or published >= entry.upto:
            await self._store.mark_published(entry, published)
        self.published += len(events)
        return len(events)

    async def _publish_occurrence(self, entry: OutboxEntry) -> int:
        occurrence = await self._store.get_occurrence(entry.instance_id.removeprefix(OCCURRENCE))
        if occurrence is None:  # MongoDB: written before the occurrence, which may come yet
            if time.time_ns() - entry.since > ORPHAN_AFTER_NS:
                await self._store.mark_published(entry, entry.upto)
            return 0
        await self._sink.publish([trigger_event(occurrence)])
        await self._store.mark_published(entry, entry.upto)
        self.published += 1
        return 1

    async def _run(self) -> None:
        delay = self._poll
        while True:
            self._wake.clear()
            try:
                while await self.drain_once():
                    pass
                delay = self._poll
            except Exception:
                self.failures += 1
                log.exception("publishing orchestration events failed; retrying in %.1fs", delay)
                delay = min(delay * 2, MAX_BACKOFF)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)


__all__ = ["OutboxPublisher", "Sink"]
