"""In-process event bus: carries committed stage transitions to subscribers.

Publishing never blocks the engine. Each subscription owns a bounded queue; when a slow
consumer lets it fill up, the subscription is closed with `Overflow` as its last item and
dropped. The consumer can resubscribe and replay what it missed from the store (transitions
carry a per-instance `seq`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from .models import Transition

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1024
ALL = "*"


class Overflow(Exception):
    """The subscriber fell more than its queue size behind and was disconnected."""


@dataclass(eq=False)
class Subscription:
    topics: tuple[str, ...]
    queue: asyncio.Queue[Transition | Overflow] = field(repr=False)
    closed: bool = False

    async def __aiter__(self) -> AsyncIterator[Transition]:
        while True:
            item = await self.queue.get()
            if isinstance(item, Overflow):
                raise item
            yield item

    async def get(self, timeout: float | None = None) -> Transition:
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if isinstance(item, Overflow):
            raise item
        return item


class EventBus:
    """Topics are instance IDs, workflow IDs and `ALL`."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._listeners: list[Callable[[Transition], None]] = []
        self._gate: Callable[[Transition], bool] | None = None
        self.overflows = 0

    def set_gate(self, gate: Callable[[Transition], bool]) -> None:
        """Asked first on every publish: False drops the transition (on a shared store, the
        relay's record of what this bus carried: a transition read back from the store and
        published by this replica's own commit goes out once)."""
        self._gate = gate

    def add_listener(self, listener: Callable[[Transition], None]) -> None:
        """A synchronous callback run on every transition (metrics); it must be cheap."""
        self._listeners.append(listener)

    @property
    def subscription_count(self) -> int:
        return len({s for subs in self._subscribers.values() for s in subs})

    def subscribe(self, *topics: str, queue_size: int | None = None) -> Subscription:
        size = max(2, queue_size or self._queue_size)
        subscription = Subscription(topics, asyncio.Queue(maxsize=size))
        for topic in topics:
            self._subscribers[topic].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.closed = True
        for topic in subscription.topics:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[topic]

    def publish(self, transition: Transition) -> bool:
        """Deliver to every subscriber of its instance, workflow and `ALL`; False when the
        gate dropped it."""
        if self._gate is not None and not self._gate(transition):
            return False
        for listener in self._listeners:
            listener(transition)
        targets: set[Subscription] = set()
        for topic in (transition.instance_id, transition.workflow_id, ALL):
            targets.update(self._subscribers.get(topic, ()))
        for subscription in targets:
            self._deliver(subscription, transition)
        return True

    def _deliver(self, subscription: Subscription, transition: Transition) -> None:
        queue = subscription.queue
        if queue.qsize() >= queue.maxsize - 1:  # the last slot is kept for the Overflow marker
            self.unsubscribe(subscription)
            self.overflows += 1
            log.warning("subscription overflow", extra={"topics": subscription.topics})
            queue.put_nowait(Overflow(f"subscriber fell {queue.maxsize} transitions behind"))
            return
        queue.put_nowait(transition)
