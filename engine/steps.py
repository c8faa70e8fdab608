"""One move of an instance's state machine: what the executor does next, per stage kind.

A move changes a `Draft` and says whether the executor should go on (`CONTINUE`), commit
and go on (`COMMIT`, after an activity had an effect), or commit and stop (`BLOCK`: the
instance waits for a timer, an event, or has terminated). Activities are idempotent
(postings carry a reference, metadata writes are sets), so replaying a move after a crash
before its commit is safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .draft import Draft
from .errors import FlowqlError
from .faults import crash_point
from .ledger import Ledger
from .models import Activity, InboxEvent, InstanceStatus, StageStatus, Workflow
from .retry import RetryPolicy
from .stages import (
    DelaySpec,
    SendSpec,
    StageKind,
    StageSpec,
    UpdateSpec,
    WaitEventSpec,
    has_templates,
    interpolate,
    parse_stage,
)


class Move(Enum):
    CONTINUE = "continue"
    COMMIT = "commit"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class StepDeps:
    ledger: Ledger
    retry: RetryPolicy
    inbox: Callable[[str], Awaitable[list[InboxEvent]]]


async def advance(draft: Draft, workflow: Workflow, deps: StepDeps) -> Move:
    instance = draft.instance
    if instance.terminated:
        return Move.BLOCK
    current = instance.current
    if current is None or current.status is StageStatus.SUCCEEDED:
        index = 0 if current is None else current.stage + 1
        if index >= len(workflow.config.stages):
            draft.finish(InstanceStatus.SUCCEEDED)
            return Move.BLOCK
        draft.start_stage(index, workflow.stage_kind(index))
        return Move.CONTINUE
    if current.status is StageStatus.RUNNING:
        return await _run(draft, workflow, deps)
    if current.status is StageStatus.WAITING:
        if current.kind is StageKind.DELAY:
            return _wake_from_delay(draft, workflow)
        return await _wait_for_event(draft, workflow, deps)
    return Move.BLOCK


def _succeed(draft: Draft, workflow: Workflow) -> None:
    draft.set_status(StageStatus.SUCCEEDED)
    if draft.stage.stage == len(workflow.config.stages) - 1:
        draft.finish(InstanceStatus.SUCCEEDED)


def _fail(draft: Draft, error: str) -> Move:
    draft.finish(InstanceStatus.FAILED, error=error)
    return Move.BLOCK


_STATIC_SPECS: dict[tuple[str, int], StageSpec | None] = {}
"""Parsed specs of stages without `${}` (the same for every instance, parsed once), and None
for stages with templates, which are interpolated and parsed at each start."""
_STATIC_SPECS_MAX = 10_000


def _spec(draft: Draft, workflow: Workflow) -> StageSpec:
    index = draft.stage.stage
    key = (workflow.id, index)
    path = f"stages[{index}]"
    raw = workflow.config.stages[index]
    if key not in _STATIC_SPECS:
        if len(_STATIC_SPECS) >= _STATIC_SPECS_MAX:
            _STATIC_SPECS.clear()
        _STATIC_SPECS[key] = None if has_templates(raw) else parse_stage(raw, path=path)[1]
    cached = _STATIC_SPECS[key]
    if cached is not None:
        return cached
    return parse_stage(interpolate(raw, draft.instance.variables, path=path), path=path)[1]


async def _run(draft: Draft, workflow: Workflow, deps: StepDeps) -> Move:
    try:
        spec = _spec(draft, workflow)
    except FlowqlError as error:
        return _fail(draft, f"{error.code.value}: {error.message}")
    if isinstance(spec, DelaySpec):
        try:
            due = spec.due(draft.stage.started_at)
        except (FlowqlError, OverflowError) as error:
            return _fail(draft, f"VALIDATION: stages[{draft.stage.stage}].delay: {error}")
        draft.set_wake(due)
        draft.set_status(StageStatus.WAITING)
        return Move.CONTINUE
    if isinstance(spec, WaitEventSpec):
        draft.instance.waiting_for = spec.event
        draft.set_status(StageStatus.WAITING)
        return Move.CONTINUE
    wake_at = draft.instance.wake_at
    if wake_at is not None and draft.now() < wake_at:
        return Move.BLOCK  # a retry is scheduled
    return await _attempt(draft, workflow, spec, deps)


async def _attempt(draft: Draft, workflow: Workflow, spec: SendSpec | UpdateSpec, deps: StepDeps) -> Move:
    stage = draft.stage
    previous = stage.history[-1] if stage.history and not stage.history[-1].terminated else None
    attempt = previous.attempt + 1 if previous else 1
    name, payload = _describe(spec)
    started = previous.started_at if previous else draft.now()

    def record(*, ended: bool = True, **outcome: Any) -> None:
        """One history entry per activity: an attempt replaces the previous attempt's entry."""
        if previous is not None:
            stage.history.pop()
        if ended:
            outcome.update(terminated=True, terminated_at=draft.now())
        draft.add_activity(Activity(name=name, input=payload, started_at=started, attempt=attempt, **outcome))

    try:
        output = await _execute(spec, f"{draft.instance.id}:{stage.stage}", deps.ledger)
    except FlowqlError as error:  # a business failure: the stage fails at once
        message = f"{error.code.value}: {error.message}"
        record(error=message)
        return _fail(draft, message)
    except Exception as error:  # anything else is transient: retried with backoff
        message = f"{type(error).__name__}: {error}"
        if deps.retry.exhausted(attempt):
            record(error=message, last_failure=message)
            return _fail(draft, f"gave up after {attempt} attempts: {message}")
        next_execution = draft.now() + deps.retry.delay_after(attempt)
        record(ended=False, last_failure=message, next_execution=next_execution)
        draft.set_wake(next_execution)
        return Move.BLOCK
    crash_point("after-activity")
    record(output=output, last_failure=previous.last_failure if previous else None)
    draft.set_wake(None)
    _succeed(draft, workflow)
    return Move.COMMIT


def _describe(spec: SendSpec | UpdateSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, SendSpec):
        return "CreateTransaction", spec.model_dump(mode="json", exclude_none=True)
    return "AddAccountMetadata", spec.account.model_dump(mode="json")


async def _execute(spec: SendSpec | UpdateSpec, reference: str, ledger: Ledger) -> dict[str, Any]:
    if isinstance(spec, SendSpec):
        posting = await ledger.send(spec, reference=reference)
        return {"posting": posting.model_dump(mode="json") | {"amount": str(posting.amount)}}
    account = await ledger.add_metadata(spec.account.ledger, spec.account.id, spec.account.metadata)
    return {"account": {"ledger": account.ledger, "address": account.address, "metadata": account.metadata}}


def _wake_from_delay(draft: Draft, workflow: Workflow) -> Move:
    wake_at = draft.instance.wake_at
    if wake_at is not None and draft.now() < wake_at:
        return Move.BLOCK
    draft.add_activity(
        Activity(
            name="Delay",
            input={"until": wake_at.isoformat() if wake_at else None},
            output={},
            terminated=True,
            started_at=draft.stage.started_at,
            terminated_at=draft.now(),
        )
    )
    _succeed(draft, workflow)
    return Move.CONTINUE


async def _wait_for_event(draft: Draft, workflow: Workflow, deps: StepDeps) -> Move:
    instance = draft.instance
    handled = set(instance.consumed_events)
    for event in await deps.inbox(instance.id):
        if event.id in handled:
            continue
        instance.consumed_events.append(event.id)
        matched = event.name == instance.waiting_for
        draft.add_activity(
            Activity(
                name="ReceiveEvent" if matched else "IgnoreEvent",
                input={"name": event.name, "receivedAt": event.received_at.isoformat()},
                output={"matched": matched},
                terminated=True,
                started_at=event.received_at,
                terminated_at=draft.now(),
            )
        )
        if matched:
            _succeed(draft, workflow)
            return Move.CONTINUE
    return Move.BLOCK
