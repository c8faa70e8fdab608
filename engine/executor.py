"""Runs instances: one asyncio task per instance while it has work, none while it waits.

`wake(id)` makes sure a task advances the instance; a task loops over moves, commits each
batch of transitions (write), then publishes them (then publish), and ends when the
instance blocks on a timer, an event or termination. Waiting instances cost a row in the
store and nothing here; the scheduler wakes them when they are due.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

from .bus import EventBus
from .draft import Draft
from .errors import VersionConflict, conflict, not_found
from .models import Instance, InstanceStatus, Transition, Workflow
from .steps import Move, StepDeps, advance
from .store import Store

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR = 1.0


class Executor:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        deps: StepDeps,
        *,
        max_concurrency: int = 256,
        on_wake_at: Callable[[Instance], None] | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._deps = deps
        self._slots = asyncio.Semaphore(max_concurrency)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._workflows: dict[str, Workflow] = {}
        self._fresh: dict[str, Instance] = {}
        """Instances just written by this process, handed to their next step without a read."""
        self._waiters: dict[str, list[asyncio.Future[Instance]]] = {}
        self._on_wake_at = on_wake_at
        self._stopping = False

    @property
    def active(self) -> int:
        return len(self._tasks)

    # --- entry points -------------------------------------------------------------------
    def wake(self, instance_id: str) -> None:
        if self._stopping:
            return
        if instance_id in self._tasks:
            self._again.add(instance_id)
            return
        task = asyncio.create_task(self._drive(instance_id), name=f"instance:{instance_id}")
        self._tasks[instance_id] = task

    async def start(self, instance: Instance, workflow: Workflow) -> None:
        """Insert a new instance with its first stage RUNNING, then drive it."""
        self._workflows[workflow.id] = workflow
        draft = Draft(instance)
        draft.start_stage(0, workflow.stage_kind(0))
        created = draft.ready_to_save()
        await self._store.insert_instance(created, draft.transitions)
        self._fresh[created.id] = created
        self._publish(draft.transitions)
        self.wake(instance.id)

    def wait_for(self, instance_id: str) -> asyncio.Future[Instance]:
        future: asyncio.Future[Instance] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(instance_id, []).append(future)
        return future

    def forget_waiter(self, instance_id: str, future: asyncio.Future[Instance]) -> None:
        """Drop a waiter that gave up (a timed-out `run_workflow(wait=True)`)."""
        waiters = self._waiters.get(instance_id, [])
        if future in waiters:
            waiters.remove(future)
        if not waiters:
            self._waiters.pop(instance_id, None)

    async def cancel(self, instance_id: str) -> Instance:
        async with self._lock(instance_id):
            self._fresh.pop(instance_id, None)
            while True:
                instance = await self._store.get_instance(instance_id)
                if instance is None:
                    raise not_found("instance", instance_id)
                if instance.status is InstanceStatus.CANCELLED:
                    return instance
                if instance.terminated:
                    raise conflict(
                        f"instance {instance_id!r} already terminated with {instance.status.value}"
                    )
                draft = Draft(instance)
                draft.finish(InstanceStatus.CANCELLED)
                try:
                    return await self._commit(draft)
                except VersionConflict:
                    continue  # another writer moved it: look again

    async def stop(self) -> None:
        """Stop driving instances; their state stays in the store for the next start."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()

    # --- the loop of one instance -------------------------------------------------------
    async def _drive(self, instance_id: str) -> None:
        try:
            while True:
                self._again.discard(instance_id)
                async with self._slots, self._lock(instance_id):
                    await self._advance(instance_id)
                if instance_id not in self._again:
                    return
        except asyncio.CancelledError:
            raise
        except VersionConflict:
            log.info("instance changed under us; advancing again", extra={"instance": instance_id})
            self._retry_later(instance_id, 0.0)
        except Exception:
            log.exception(
                "instance step failed; retrying in %ss", RETRY_AFTER_ERROR, extra={"instance": instance_id}
            )
            self._retry_later(instance_id, RETRY_AFTER_ERROR)
        finally:
            self._tasks.pop(instance_id, None)

    def _retry_later(self, instance_id: str, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.wake, instance_id)

    async def _advance(self, instance_id: str) -> None:
        instance = self._fresh.pop(instance_id, None) or await self._store.get_instance(instance_id)
        if instance is None or instance.terminated:
            return
        workflow = await self._workflow(instance.workflow_id)
        draft = Draft(instance)
        while True:
            move = await advance(draft, workflow, self._deps)
            if move is Move.CONTINUE:
                continue
            if draft.changed:
                instance = await self._commit(draft)
            if move is Move.BLOCK or instance.terminated:
                return
            draft = Draft(instance)

    async def _commit(self, draft: Draft) -> Instance:
        """Write, then publish."""
        saved = await self._store.save_instance(
            draft.ready_to_save(), expected_version=draft.base_version, transitions=draft.transitions
        )
        self._publish(draft.transitions)
        if saved.wake_at is not None and self._on_wake_at is not None:
            self._on_wake_at(saved)
        if saved.terminated:
            for future in self._waiters.pop(saved.id, []):
                if not future.done():
                    future.set_result(saved)
        return saved

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
        """Wait until no instance has a task (tests and graceful shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
