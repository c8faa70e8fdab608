"""Delivery of shared results to their sockets, in bounded slices that yield to the loop.

A shared execution's result goes to every one of its subscribers; at 1,000 subscribers that
is 1,000 socket writes (the kernel's work, mostly), 10 to 30 ms of loop time in one go.
Done in one go, every `runWorkflow` step waiting for the loop waits that long. So results
are queued here and written `slice_size` subscribers at a time, one slice per loop turn:
between two slices every callback that became ready (engine steps, store replies, HTTP
requests) runs once. Deliveries keep their order: one FIFO for all executions, and a
subscriber's frames are appended to its outbox in that order.

Each result is framed once per distinct frame prefix (subscribers that use the same
operation id and protocol, the common case, get the very same bytes), and the frames a
slice appends to one socket go out in one write at the slice's end. A result queued while
its execution's previous one is still being written joins it: the subscribers not reached
yet get both in one write, so a fan-out that falls behind makes fewer writes. A large
delivery (`linger_from` subscribers or more) with nothing queued ahead waits `linger`
seconds before its first slice, so that its execution's next results (a run's next
transition, the next runs' transitions) join it: at 1,000 subscribers the kernel's send per
write is most of what a fan-out costs, and its share of the server's one core (the GIL) is
what `runWorkflow` loses meanwhile. The linger trades latency for that share: 100 ms by
default (docs/decisions.md has the figures), 0 to write at once.

The queue is bounded: past `limit` subscriber deliveries waiting, an execution waits
(`room`) before it takes its next event, so a fan-out that cannot keep up backs up into the
execution's bus queue, whose overflow policy applies (replay from the store, or CONFLICT for
live-only streams).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .ws_outbox import Outbox, text_frame

if TYPE_CHECKING:
    from .fanout import Member

DEFAULT_SLICE = 256
DEFAULT_LIMIT = 200_000
DEFAULT_LINGER = 0.1
"""Seconds a large delivery waits before its first slice, for its execution's next result
(FLOWQL_WS_FANOUT_LINGER)."""
LINGER_FROM = 256
"""Subscribers from which a delivery lingers (below, a write per socket is cheap: at once)."""


@dataclass(eq=False, slots=True)
class _Delivery:
    members: Sequence[Member]
    payloads: list[bytes]
    group: Hashable | None
    """Equal for deliveries to the same subscribers (an execution that took no one since)."""
    index: int = 0
    """The subscribers before it have been written."""
    frames: list[dict[bytes, bytes]] = field(default_factory=lambda: [{}])


class Pump:
    def __init__(
        self,
        *,
        slice_size: int = DEFAULT_SLICE,
        limit: int = DEFAULT_LIMIT,
        linger: float = DEFAULT_LINGER,
        linger_from: int = LINGER_FROM,
    ) -> None:
        self._slice = max(1, slice_size)
        self._limit = limit
        self.linger = linger
        """Seconds a large delivery waits for its execution's next result (0: none)."""
        self._linger_from = linger_from
        self._queue: deque[_Delivery | Callable[[], None]] = deque()
        self._waiting = 0
        """Subscriber deliveries queued and not yet appended to their outboxes."""
        self._scheduled = False
        self._room: asyncio.Event | None = None

    @property
    def backlog(self) -> int:
        return self._waiting

    def deliver(self, members: Sequence[Member], payload: bytes, group: Hashable | None = None) -> None:
        """Queue `payload` (a `next` payload) for `members` (a snapshot: who joins later is
        caught up by its execution instead). When the last delivery queued went to the same
        `group`, the subscribers it has not reached yet get both in one write (a pump that
        falls behind writes less often, not later); those it reached get this one next."""
        if not members:
            return
        queue = self._queue
        last = queue[-1] if queue else None
        if group is not None and isinstance(last, _Delivery) and last.group == group:
            last.payloads.append(payload)
            last.frames.append({})
            if last.index:
                queue.append(_Delivery(last.members[: last.index], [payload], None))
            self._waiting += len(last.members)
            self._schedule()
            return
        queue.append(_Delivery(members, [payload], group))
        self._waiting += len(members)
        if len(queue) > 1:
            self._schedule()
        elif self.linger > 0 and len(members) >= self._linger_from:
            # Its execution's next result (a run's next transition, mostly) joins it meanwhile:
            # each socket then takes both in one write, and the kernel's send per write is
            # what a large fan-out costs.
            self._scheduled = True
            asyncio.get_running_loop().call_later(self.linger, self._turn)
        else:
            self._run()  # nothing ahead of it: its first slice now, one loop turn sooner

    def after(self, callback: Callable[[], None]) -> None:
        """Run `callback` once every delivery queued so far is written (an execution's end:
        `complete` must follow its last `next`)."""
        self._queue.append(callback)
        self._schedule()

    async def room(self) -> None:
        """Return once the backlog is under the limit."""
        while self._waiting > self._limit:
            if self._room is None:
                self._room = asyncio.Event()
            await self._room.wait()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        self._scheduled = False
        self._run()

    def _run(self) -> None:
        queue, budget = self._queue, self._slice
        dirty: list[Outbox] = []
        while queue and budget > 0:
            head = queue[0]
            if not isinstance(head, _Delivery):
                queue.popleft()
                head()
                continue
            members, payloads, frames = head.members, head.payloads, head.frames
            start = head.index
            end = min(len(members), start + budget)
            for n in range(start, end):
                member = members[n]
                if member.gone:
                    continue
                outbox, prefix = member.outbox, member.prefix
                for k, payload in enumerate(payloads):
                    frame = frames[k].get(prefix)
                    if frame is None:
                        frame = frames[k][prefix] = text_frame(prefix + payload + b"}")
                    if outbox.put(frame):
                        dirty.append(outbox)
            budget -= end - start
            self._waiting -= (end - start) * len(payloads)
            if end == len(members):
                queue.popleft()
            else:
                head.index = end
        for outbox in dirty:
            outbox.flush()
        if self._room is not None and self._waiting <= self._limit:
            self._room.set()
            self._room = None
        if queue:
            self._schedule()


__all__ = ["DEFAULT_LIMIT", "DEFAULT_SLICE", "Pump"]
