"""The orchestration service: what GraphQL and REST both call. No transport concerns here."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .bounds import MAX_NAME_LENGTH, Label, Name, check
from .bus import ALL, EventBus, Overflow
from .clock import utc_now
from .errors import FlowqlError, conflict, not_found, validation
from .executor import Executor
from .models import (
    Activity,
    HistoryEntry,
    InboxEvent,
    Instance,
    InstanceStatus,
    StageState,
    StageStatus,
    Transition,
    Workflow,
    WorkflowConfig,
    WorkflowRetry,
    new_id,
    new_sortable_id,
)
from .pagination import Page, PageRequest
from .stages import MAX_VARIABLE_LENGTH, SendSpec, StageKind, StageSpec, parse_stages
from .store import MAX_RANGES, MAX_ROWS, HistoryRange, Store

StagePage = tuple[str, StageState, int, int]
"""`(instance_id, stage, after, first)`: entries `after + 1 ...` of a stage's history, at most `first`."""

MAX_STAGES = 1000
MAX_VARIABLES = 1000
LIVE_WORKFLOW_CACHE = 10_000
MAX_TRACKED_CHANGES = 10_000
"""Instances an `instanceChanges` subscriber remembers the last sent status of."""


class Orchestration:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        bus: EventBus,
        *,
        run_timeout: float = 30.0,
        poke: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._poke = poke
        """On a shared store: tells the replica holding an instance that work arrived here."""
        self._executor = executor
        self._bus = bus
        self.run_timeout = run_timeout
        self._live: dict[str, Workflow] = {}
        """Workflows not deleted, by id: immutable, so cached; this process deletes them."""

    # --- workflows ----------------------------------------------------------------------
    async def create_workflow(self, *, name: str | None, stages: object, retry: object = None) -> Workflow:
        """`retry` is the workflow's own policy, `{"maxAttempts": n}` (none: the server's)."""
        if name is not None:
            check(Label, name, field="name")
        policy = _retry_policy(retry)
        _refuse_payments(parse_stages(stages))
        assert isinstance(stages, list)
        if not stages:
            raise validation("stages: a workflow needs at least one stage", field="stages")
        if len(stages) > MAX_STAGES:
            raise validation(f"stages: at most {MAX_STAGES} stages", field="stages")
        now = utc_now()
        workflow = Workflow(
            id=new_id(),
            config=WorkflowConfig(name=name, stages=stages, retry=policy),
            created_at=now,
            updated_at=now,
        )
        await self._store.insert_workflow(workflow)
        return workflow

    async def get_workflow(self, workflow_id: str) -> Workflow:
        workflow = self._live.get(workflow_id) or await self._store.get_workflow(workflow_id)
        if workflow is None or workflow.deleted_at is not None:
            raise not_found("workflow", workflow_id)
        if len(self._live) >= LIVE_WORKFLOW_CACHE:
            self._live.clear()
        self._live[workflow_id] = workflow
        return workflow

    async def read_workflow(self, workflow_id: str) -> Workflow:
        """A workflow, deleted or not (its `deleted_at` says)."""
        workflow = await self._store.get_workflow(workflow_id)
        if workflow is None:
            raise not_found("workflow", workflow_id)
        return workflow

    async def load_workflows(self, workflow_ids: Sequence[str]) -> list[Workflow | None]:
        """Batch read for DataLoaders; deleted workflows included (their instances need them)."""
        found = await self._store.get_workflows(workflow_ids)
        return [found.get(i) for i in workflow_ids]

    async def list_workflows(self, page: PageRequest) -> Page[Workflow]:
        return await self._store.list_workflows(page)

    async def delete_workflow(self, workflow_id: str) -> Workflow:
        """Soft delete; returns the workflow with its `deleted_at`."""
        self._live.pop(workflow_id, None)
        if not await self._store.delete_workflow(workflow_id, utc_now()):
            raise not_found("workflow", workflow_id)
        deleted = await self._store.get_workflow(workflow_id)
        if deleted is None:  # deleted for good by another process in between
            raise not_found("workflow", workflow_id)
        return deleted

    # --- instances ----------------------------------------------------------------------
    async def run_workflow(
        self,
        workflow_id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        wait: bool = False,
        timeout: float | None = None,
        instance_id: str | None = None,
    ) -> Instance:
        """Start an instance; with `wait`, return once it terminates or `timeout` passes."""
        workflow = await self.get_workflow(workflow_id)
        checked = _check_variables(variables or {})
        now = utc_now()
        instance = Instance(
            id=instance_id or new_sortable_id(),
            workflow_id=workflow.id,
            created_at=now,
            updated_at=now,
            variables=checked,
        )
        done = self._executor.wait_for(instance.id) if wait else None
        await self._executor.start(instance, workflow)
        if done is None:
            return instance
        try:
            return await asyncio.wait_for(done, timeout if timeout is not None else self.run_timeout)
        except TimeoutError:
            self._executor.forget_waiter(instance.id, done)
            return await self.get_instance(instance.id)

    async def get_instance(self, instance_id: str) -> Instance:
        instance = await self._store.get_instance(instance_id)
        if instance is None:
            raise not_found("instance", instance_id)
        return instance

    async def load_instances(self, instance_ids: Sequence[str]) -> list[Instance | None]:
        found = await self._store.get_instances(instance_ids)
        return [found.get(i) for i in instance_ids]

    async def list_instances(
        self,
        page: PageRequest,
        *,
        workflow_id: str | None = None,
        running: bool | None = None,
        statuses: Sequence[InstanceStatus] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page[Instance]:
        return await self._store.list_instances(
            page,
            workflow_id=workflow_id,
            running=running,
            statuses=statuses,
            created_after=created_after,
            created_before=created_before,
        )

    async def send_event(self, instance_id: str, name: str) -> Instance:
        """Queue an event in the instance's inbox and return the instance. When its current
        stage is a wait_event stage that may take the event, the instance is returned once it
        did (at most `run_timeout`), so the answer shows what the event changed; otherwise the
        event stays queued for a later stage and the instance is returned as it is."""
        check(Name, name, field="name")
        # Subscribed before the first read: whatever changes the instance after that read
        # (taking this event, or moving past the stage) is a transition on the subscription,
        # so the read after the append that used to look for such a change is not needed.
        subscription = self._bus.subscribe(instance_id)
        try:
            instance = await self.get_instance(instance_id)
            if instance.terminated:
                raise conflict(f"instance {instance_id!r} already terminated with {instance.status.value}")
            event = InboxEvent(
                id=new_sortable_id(), instance_id=instance_id, name=name, received_at=utc_now()
            )
            if not _may_take(instance, event):
                await self._append(event)
                self._executor.wake(instance_id)
                return instance  # the event changes nothing it shows: no second read
            event = await self._append(event)
            self._executor.wake(instance_id)
            try:
                async with asyncio.timeout(self.run_timeout):
                    while True:
                        await subscription.get()
                        instance = await self.get_instance(instance_id)
                        if not _may_take(instance, event):
                            return instance
            except (TimeoutError, Overflow):
                return await self.get_instance(instance_id)
        finally:
            self._bus.unsubscribe(subscription)

    async def _append(self, event: InboxEvent) -> InboxEvent:
        stored = await self._store.append_event(event)
        if self._poke is not None:  # the instance may be held by another replica
            await self._poke(event.instance_id)
        return stored

    async def cancel_instance(self, instance_id: str) -> Instance:
        return await self._executor.cancel(instance_id)

    async def stage_history(
        self, instance_id: str, stage: int, *, after: int = 0, first: int = MAX_ROWS
    ) -> list[Activity]:
        """Entries `after + 1 ...` of one stage's history (its ended activities, then the
        one waiting for its next attempt), at most `first`: one read of the instance, one of
        its workflow, one of the entries."""
        instance = await self.get_instance(instance_id)
        workflow = await self._store.get_workflow(instance.workflow_id)
        count = len(workflow.config.stages) if workflow else len(instance.stages)
        if not 0 <= stage < count:
            raise validation(f"stage: must be between 0 and {count - 1}, got {stage}", field="stage")
        reached = [s for s in instance.stages if s.stage == stage]
        if not reached:
            return []
        pages = await self.load_stage_histories([(instance_id, reached[0], after, first)])
        return pages[0]

    async def load_stage_histories(self, stages: Sequence[StagePage]) -> list[list[Activity]]:
        """For each `(instance_id, stage, after, first)`, the page of that stage's history
        as `stage_history` gives it, in one store query for them all (a page of stages)."""
        ranges = [
            history_range(instance_id, state, after, first) for instance_id, state, after, first in stages
        ]
        found: dict[tuple[str, int], list[HistoryEntry]] = {}
        for start in range(0, len(ranges), MAX_RANGES):
            found |= await self._store.get_history(ranges[start : start + MAX_RANGES])
        pages: list[list[Activity]] = []
        for (instance_id, state, after, first), wanted in zip(stages, ranges, strict=True):
            page = [entry.activity for entry in found.get((instance_id, state.stage), [])]
            at_end = wanted.until == state.history_count and after <= state.history_count
            if state.pending is not None and at_end and len(page) < first:
                page.append(state.pending)
            pages.append(page)
        return pages

    async def transitions(
        self, instance_id: str, after_seq: int = 0, first: int = MAX_ROWS
    ) -> list[Transition]:
        """Transitions after `after_seq`, at most `first` (at most `MAX_ROWS`)."""
        await self.get_instance(instance_id)
        return await self._store.list_transitions(instance_id, after_seq, first)

    async def watch_instance(self, instance_id: str) -> AsyncIterator[Transition]:
        """Stored transitions first, then live ones, in order, none twice; ends when the
        instance terminates. A bus overflow, or a gap in `seq` (a transition of another
        replica not carried here yet), is healed by replaying the gap from the store."""
        instance = await self.get_instance(instance_id)
        last = 0
        while True:
            subscription = self._bus.subscribe(instance_id)
            try:
                while True:
                    stored = await self._store.list_transitions(instance_id, last)
                    for transition in stored:
                        last = transition.seq
                        yield transition
                        if transition.instance_status.value != "RUNNING":
                            return
                    if len(stored) < MAX_ROWS:
                        break
                if instance.terminated and last >= instance.transition_count:
                    return
                async for transition in subscription:
                    if transition.seq <= last:
                        continue
                    if transition.seq > last + 1:
                        break  # resubscribe and read what is missing from the store
                    last = transition.seq
                    yield transition
                    if transition.instance_status.value != "RUNNING":
                        return
            except Overflow:
                continue
            finally:
                self._bus.unsubscribe(subscription)

    async def watch_instance_changes(self, workflow_id: str | None = None) -> AsyncIterator[Instance]:
        """Live: each instance (of one workflow, or of all) when it is created and when its
        status changes, as stored then (no replay, never ends; a bus overflow raises
        `Overflow`). An instance is sent once per status even when it has moved on by the
        time it is read."""
        if workflow_id is not None:
            await self.get_workflow(workflow_id)
        subscription = self._bus.subscribe(workflow_id if workflow_id is not None else ALL)
        sent: OrderedDict[str, InstanceStatus] = OrderedDict()
        try:
            async for transition in subscription:
                if transition.seq != 1 and transition.instance_status is InstanceStatus.RUNNING:
                    continue
                instance = await self._store.get_instance(transition.instance_id)
                if instance is None or sent.get(instance.id) is instance.status:
                    continue
                sent[instance.id] = instance.status
                sent.move_to_end(instance.id)
                if len(sent) > MAX_TRACKED_CHANGES:
                    sent.popitem(last=False)
                yield instance
        finally:
            self._bus.unsubscribe(subscription)

    async def watch_workflow(self, workflow_id: str) -> AsyncIterator[Transition]:
        """Live transitions of every instance of a workflow (no replay, never ends)."""
        await self.get_workflow(workflow_id)
        subscription = self._bus.subscribe(workflow_id)
        try:
            async for transition in subscription:
                yield transition
        finally:
            self._bus.unsubscribe(subscription)


def _refuse_payments(parsed: list[tuple[StageKind, StageSpec]]) -> None:
    """No payments service is configured (the embedded ledger has none): a payment endpoint
    could never run, so it is refused when the workflow is created, not when it fails."""
    for index, (_kind, spec) in enumerate(parsed):
        if not isinstance(spec, SendSpec):
            continue
        for side in ("source", "destination"):
            if getattr(spec, side).payment is not None:
                field = f"stages[{index}].send.{side}.payment"
                raise validation(f"{field}: no payments service is configured", field=field)


def _retry_policy(raw: object) -> WorkflowRetry | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"maxAttempts"}:
        raise validation("retry: must be {maxAttempts: n}", field="retry")
    attempts = raw["maxAttempts"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1_000_000:
        raise validation(
            "retry.maxAttempts: must be an integer between 1 and 1000000", field="retry.maxAttempts"
        )
    return WorkflowRetry(max_attempts=attempts)


def history_range(instance_id: str, stage: StageState, after: int, first: int) -> HistoryRange:
    """The stored entries of a page of a stage's history: those its `history_count` covers."""
    start = min(max(after, 0), stage.history_count)
    return HistoryRange(
        instance_id, stage.stage, start, min(stage.history_count, start + max(min(first, MAX_ROWS), 0))
    )


def _may_take(instance: Instance, event: InboxEvent) -> bool:
    """Whether the instance's current stage is a wait_event stage that may still take this
    event: waiting for its name, or started and not yet waiting (the executor is on it)."""
    current = instance.current
    if instance.terminated or current is None or current.kind is not StageKind.WAIT_EVENT:
        return False
    if event.position and event.position <= instance.inbox_cursor:
        return False  # handled already
    if current.status is StageStatus.RUNNING:
        return True
    return current.status is StageStatus.WAITING and instance.waiting_for == event.name


def _check_variables(variables: Mapping[str, Any]) -> dict[str, str]:
    if len(variables) > MAX_VARIABLES:
        raise validation(f"variables: at most {MAX_VARIABLES} variables", field="variables")
    checked: dict[str, str] = {}
    for key, value in variables.items():
        if not isinstance(key, str) or not key:
            raise validation("variables: names must be non-empty strings", field="variables")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise validation(f"variables.{key}: must be a string", field=f"variables.{key}")
        if len(key) > MAX_NAME_LENGTH:
            raise validation(f"variables: names of at most {MAX_NAME_LENGTH} characters", field="variables")
        text = str(value)
        if len(text) > MAX_VARIABLE_LENGTH:
            raise validation(
                f"variables.{key}: at most {MAX_VARIABLE_LENGTH} characters", field=f"variables.{key}"
            )
        checked[key] = text
    return checked


__all__ = ["FlowqlError", "Orchestration"]
