"""Runs instances on a bounded pool of driver tasks; an instance that waits costs nothing here.

`wake(id)` makes sure the instance is advanced: by a new driver task while fewer than
`max_concurrency` run, else it joins a FIFO ready queue that drivers take from when they
finish. A driver loops over the instance's moves, commits each batch of transitions (write),
then publishes them (then publish), and lets go of the instance when it blocks on a timer,
an event or termination. So 100k runnable instances cost 100k ids in a deque, not 100k
tasks; waiting instances cost a row in the store and the scheduler wakes them when due.

Nothing loops forever unseen. A driver lets go of the instance after every commit when a
cancel is waiting for it, so a cancel lands between any two stages. An unexpected exception
in a driver (not an activity failure: those are the steps' retries) is told apart from a
store outage by reading the instance back: if the store answers, the failure is counted on
the instance (`driver_failures`, and a `DriverFailure` entry in the stage's history) and
retried with capped exponential backoff; after `max_driver_failures` the instance FAILS
with an INTERNAL error, a transition its subscribers see. If the store does not answer,
the instance is retried without bound (the store will be back) and `store_available` is
False until a store call succeeds again: /readyz answers 503 and a metric says so.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .bus import EventBus
from .clock import utc_now
from .draft import Draft
from .errors import ErrorCode, FlowqlError, LeaseLost, VersionConflict, conflict, not_found
from .models import Activity, Instance, InstanceStatus, Transition, Workflow
from .steps import Move, StepDeps, advance
from .store import Store

log = logging.getLogger(__name__)

FRESH_CACHE = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverRetry:
    """Backoff after an unexpected driver failure, and how many failures an instance may have."""

    max_failures: int = 10
    initial: float = 1.0
    maximum: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.initial * 2 ** max(failures - 1, 0), self.maximum))


class Executor:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        deps: StepDeps,
        *,
        max_concurrency: int = 256,
        on_wake_at: Callable[[Instance], None] | None = None,
        driver_retry: DriverRetry | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._deps = deps
        self._max_drivers = max_concurrency
        self._drivers: set[asyncio.Task[None]] = set()
        self._ready: deque[str] = deque()
        self._scheduled: set[str] = set()
        """Instances being driven or in the ready queue."""
        self._again: set[str] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._workflows: dict[str, Workflow] = {}
        self._fresh: dict[str, Instance] = {}
        """Instances just written by this process, handed to their next step without a read."""
        self._waiters: dict[str, list[asyncio.Future[Instance]]] = {}
        self._on_wake_at = on_wake_at
        self._stopping = False
        self.owner: str | None = None
        """Lease owner token on a shared store: only instances it holds are driven."""
        self.lease_lost = 0
        """Saves refused because another replica took the instance over."""
        self._driver_retry = driver_retry or DriverRetry()
        self._cancelling: set[str] = set()
        """Instances a cancel waits for: their driver lets go after its next commit."""
        self._outage_retries: dict[str, int] = {}
        self.store_available = True
        """False from a store call that failed until one succeeds (/readyz, metrics)."""
        self.driver_failures = 0
        """Unexpected driver failures counted on instances since start (a metric)."""

    @property
    def active(self) -> int:
        """Instances being driven or ready to be."""
        return len(self._scheduled)

    # --- entry points -------------------------------------------------------------------
    def wake(self, instance_id: str) -> None:
        if self._stopping:
            return
        if instance_id in self._scheduled:
            self._again.add(instance_id)  # a driver holding it looks again before letting go
            return
        self._scheduled.add(instance_id)
        if len(self._drivers) < self._max_drivers:
            driver = asyncio.create_task(self._drive(instance_id), name="instance-driver")
            self._drivers.add(driver)
            driver.add_done_callback(self._drivers.discard)
        else:
            self._ready.append(instance_id)

    async def start(self, instance: Instance, workflow: Workflow) -> None:
        """Insert a new instance with its first stage RUNNING, then drive it."""
        self._workflows[workflow.id] = workflow
        if self.owner is not None:
            instance.lease_owner, instance.lease_epoch = self.owner, 1
        draft = Draft(instance)
        draft.start_stage(0, workflow.stage_kind(0))
        created = draft.ready_to_save()
        await self._store.insert_instance(created, draft.transitions)
        self._remember(created)
        self._publish(draft.transitions)
        self.wake(instance.id)

    def wait_for(self, instance_id: str) -> asyncio.Future[Instance]:
        future: asyncio.Future[Instance] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(instance_id, []).append(future)
        return future

    @property
    def has_waiters(self) -> bool:
        return bool(self._waiters)

    async def finished_elsewhere(self, transition: Transition) -> None:
        """A terminal transition written by another replica: answer this replica's waiters."""
        if transition.instance_id not in self._waiters:
            return
        instance = await self._store.get_instance(transition.instance_id)
        if instance is not None and instance.terminated:
            self._resolve(instance)

    def forget_waiter(self, instance_id: str, future: asyncio.Future[Instance]) -> None:
        """Drop a waiter that gave up (a timed-out `run_workflow(wait=True)`)."""
        waiters = self._waiters.get(instance_id, [])
        if future in waiters:
            waiters.remove(future)
        if not waiters:
            self._waiters.pop(instance_id, None)

    async def cancel(self, instance_id: str) -> Instance:
        self._cancelling.add(instance_id)
        try:
            async with self._lock(instance_id):
                return await self._cancel_locked(instance_id)
        finally:
            self._cancelling.discard(instance_id)

    async def _cancel_locked(self, instance_id: str) -> Instance:
        self._fresh.pop(instance_id, None)
        while True:
            instance = await self._store.get_instance(instance_id)
            if instance is None:
                raise not_found("instance", instance_id)
            if instance.status is InstanceStatus.CANCELLED:
                return instance
            if instance.terminated:
                raise conflict(f"instance {instance_id!r} already terminated with {instance.status.value}")
            draft = Draft(instance)
            draft.finish(InstanceStatus.CANCELLED)
            try:
                return await self._commit(draft)
            except VersionConflict:
                continue  # another writer moved it: look again

    async def stop(self) -> None:
        """Stop driving instances; their state stays in the store for the next start."""
        self._stopping = True
        self._ready.clear()
        drivers = list(self._drivers)
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()

    # --- drivers ------------------------------------------------------------------------
    async def _drive(self, instance_id: str | None) -> None:
        """Advance one instance after another: the first given, then from the ready queue."""
        while instance_id is not None:
            try:
                await self._drive_one(instance_id)
            finally:
                self._scheduled.discard(instance_id)
                self._again.discard(instance_id)
            instance_id = self._ready.popleft() if self._ready else None

    async def _drive_one(self, instance_id: str) -> None:
        try:
            while True:
                self._again.discard(instance_id)
                async with self._lock(instance_id):
                    await self._advance(instance_id)
                if instance_id not in self._again:
                    return
        except LeaseLost:
            self.lease_lost += 1
            log.warning("lease lost: another replica took the instance over", extra={"instance": instance_id})
            self._fresh.pop(instance_id, None)
            self._retry_later(instance_id, 0.0)  # re-read: driven again only if ours once more
        except VersionConflict:
            log.info("instance changed under us; advancing again", extra={"instance": instance_id})
            self._retry_later(instance_id, 0.0)
        except Exception as error:
            async with self._lock(instance_id):
                await self._driver_failed(instance_id, error)

    async def _driver_failed(self, instance_id: str, error: Exception) -> None:
        self._fresh.pop(instance_id, None)
        try:
            instance = await self._store.get_instance(instance_id)
        except Exception:
            outages = self._outage_retries.get(instance_id, 0) + 1
            self._outage_retries[instance_id] = outages
            self.store_available = False
            delay = self._driver_retry.delay(outages)
            log.warning(
                "store unavailable; retrying the instance in %ss",
                delay,
                extra={"instance": instance_id, "error": f"{type(error).__name__}: {error}"},
            )
            self._retry_later(instance_id, delay)
            return
        self._outage_retries.pop(instance_id, None)
        self.store_available = True
        if instance is None or instance.terminated:
            return
        failures = instance.driver_failures + 1
        self.driver_failures += 1
        retry = self._driver_retry
        log.error(
            "instance driver failed (%s of %s)",
            failures,
            retry.max_failures,
            exc_info=error,
            extra={"instance": instance_id},
        )
        draft = Draft(instance)
        instance.driver_failures = failures
        give_up = failures >= retry.max_failures
        delay = retry.delay(failures)
        now = utc_now()
        _record_failure(draft, failures, error, None if give_up else now + timedelta(seconds=delay))
        if give_up:
            draft.finish(
                InstanceStatus.FAILED,
                error=f"{ErrorCode.INTERNAL.value}: the engine failed {failures} times on this instance",
            )
        try:
            await self._commit(draft)
        except VersionConflict:
            self._retry_later(instance_id, 0.0)
            return
        except Exception:
            self.store_available = False
            self._retry_later(instance_id, delay)
            return
        if not give_up:
            self._retry_later(instance_id, delay)

    def _retry_later(self, instance_id: str, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.wake, instance_id)

    async def _advance(self, instance_id: str) -> None:
        instance = self._fresh.pop(instance_id, None) or await self._store.get_instance(instance_id)
        if instance is None or instance.terminated:
            return
        if self.owner is not None and instance.lease_owner != self.owner:
            return  # another replica's: it was poked, or is taken over when its lease expires
        workflow = await self._workflow(instance.workflow_id)
        self.store_available = True
        self._outage_retries.pop(instance_id, None)
        draft = Draft(instance)
        while True:
            move = await advance(draft, workflow, self._deps)
            if move is Move.CONTINUE:
                continue
            committed = draft.changed
            if committed:
                instance = await self._commit(draft)
            if instance.terminated:
                return
            if move is Move.BLOCK:
                if committed:  # as stored: the event or timer that wakes it needs no read
                    self._remember(instance)
                return
            if instance_id in self._cancelling:  # let the cancel in between two stages
                self._remember(instance)
                self._again.add(instance_id)
                return
            draft = Draft(instance)

    async def _commit(self, draft: Draft) -> Instance:
        """Write, then publish."""
        saved = await self._store.save_instance(
            draft.ready_to_save(),
            expected_version=draft.base_version,
            transitions=draft.transitions,
            history=draft.history,
        )
        self._publish(draft.transitions)
        if saved.wake_at is not None and self._on_wake_at is not None:
            self._on_wake_at(saved)
        if saved.terminated:
            self._resolve(saved)
        return saved

    def _remember(self, instance: Instance) -> None:
        """Keep `instance` as just written for its next step (the oldest kept goes first).
        Only this executor writes instances, under the instance's lock, and every save is a
        compare-and-set: a copy made stale by another replica fails its save and is re-read."""
        fresh = self._fresh
        fresh.pop(instance.id, None)
        if len(fresh) >= FRESH_CACHE:
            del fresh[next(iter(fresh))]
        fresh[instance.id] = instance

    def _resolve(self, instance: Instance) -> None:
        for future in self._waiters.pop(instance.id, []):
            if not future.done():
                future.set_result(instance)

    def _publish(self, transitions: list[Transition]) -> None:
        for transition in transitions:
            self._bus.publish(transition)

    async def _workflow(self, workflow_id: str) -> Workflow:
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            workflow = await self._store.get_workflow(workflow_id)
            if workflow is None:
                raise not_found("workflow", workflow_id)
            self._workflows[workflow_id] = workflow
        return workflow

    def _lock(self, instance_id: str) -> asyncio.Lock:
        lock = self._locks.get(instance_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[instance_id] = lock
        return lock

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until no instance is being driven (tests and graceful shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._drivers and asyncio.get_running_loop().time() < deadline:
            await asyncio.gather(*list(self._drivers), return_exceptions=True)


def _record_failure(draft: Draft, failures: int, error: Exception, retry_at: datetime | None) -> None:
    """A `DriverFailure` entry in the current stage's history (an activity waiting for its
    next attempt stays pending, after it)."""
    stage = draft.instance.current
    if stage is None:
        return
    now = utc_now()
    reason = error.message if isinstance(error, FlowqlError) else type(error).__name__
    entry = Activity(
        name="DriverFailure",
        input={"failures": failures},
        error=f"internal error ({reason})",
        terminated=True,
        started_at=now,
        terminated_at=now,
        attempt=failures,
        last_failure=f"internal error ({reason})",
        next_execution=retry_at,
    )
    draft.add_failure(entry)
