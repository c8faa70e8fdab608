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

from .clock import to_iso
from .draft import Draft
from .errors import FlowqlError, InsufficientFunds
from .faults import crash_point
from .ledger import Ledger, Lookup, Transfer
from .models import Activity, InboxEvent, InstanceStatus, StageStatus, Workflow
from .retry import RetryPolicy
from .stages import (
    DelaySpec,
    NoopSpec,
    SendSpec,
    StageKind,
    StageSpec,
    WaitEventSpec,
    has_templates,
    interpolate,
    parse_stage,
)

INBOX_BATCH = 100
"""Inbox events one commit handles at most."""


class Move(Enum):
    CONTINUE = "continue"
    COMMIT = "commit"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class StepDeps:
    ledger: Ledger
    retry: RetryPolicy
    inbox: Callable[[str, int, int], Awaitable[list[InboxEvent]]]
    """`(instance_id, after, limit)`: the inbox events after position `after`, in order."""
    on_retry: Callable[[str], None] | None = None
    """Told the stage kind of each attempt that failed and will be retried (a metric)."""
    on_unrecorded: Callable[[], None] | None = None
    """Told of each ignored event past `MAX_IGNORED_RECORDED` on its stage (a metric)."""


MAX_IGNORED_RECORDED = 1000
"""IgnoreEvent entries one waiting stage keeps: a flood of events of other names must not
grow an instance without bound; past it they are counted (`StageState.ignored`)."""


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
        _STATIC_SPECS[key] = None if has_templates(raw) else parse_stage(raw, path=path, concrete=True)[1]
    cached = _STATIC_SPECS[key]
    if cached is not None:
        return cached
    return parse_stage(interpolate(raw, draft.instance.variables, path=path), path=path, concrete=True)[1]


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
    if isinstance(spec, NoopSpec):
        _succeed(draft, workflow)
        return Move.CONTINUE
    wake_at = draft.instance.wake_at
    if wake_at is not None and draft.now() < wake_at:
        return Move.BLOCK  # a retry is scheduled
    if isinstance(spec, SendSpec):
        return await _send(draft, workflow, spec, deps)
    account = spec.account
    name, payload = "AddAccountMetadata", account.model_dump(mode="json")

    async def update() -> dict[str, Any]:
        done = await deps.ledger.add_metadata(account.ledger, account.id, account.metadata)
        return {"account": {"ledger": done.ledger, "address": done.address, "metadata": done.metadata}}

    return await _attempt(draft, workflow, deps, name, payload, update) or _done(draft, workflow)


async def _send(draft: Draft, workflow: Workflow, spec: SendSpec, deps: StepDeps) -> Move:
    """The send's transfers in order, each one activity; resumes after the last one done."""
    try:
        steps = await deps.ledger.plan(spec)
    except FlowqlError as error:  # a bad address, an unknown wallet: final
        return _fail(draft, f"{error.code.value}: {error.message}")
    done = draft.stage.succeeded
    base = f"{draft.instance.id}:{draft.stage.stage}"
    postings = sum(1 for step in steps[:done] if isinstance(step, Transfer))
    for step in steps[done:]:
        if isinstance(step, Lookup):
            move = await _attempt(draft, workflow, deps, step.activity, step.input, step.read)
        else:
            reference = base if postings == 0 else f"{base}:{postings}"
            postings += 1

            async def post(transfer: Transfer = step, reference: str = reference) -> dict[str, Any]:
                posting = await deps.ledger.transfer(transfer, reference=reference)
                made = posting.model_dump(mode="json") | {"amount": str(posting.amount)}
                return {"posting": made | {"txid": None if posting.txid is None else str(posting.txid)}}

            payload = step.request if step.request is not None else transaction_input(step)
            move = await _attempt(draft, workflow, deps, step.activity, payload, post)
        if move is not None:
            return move
    return _done(draft, workflow)


def transaction_input(transfer: Transfer) -> dict[str, Any]:
    """Formance's CreateTransaction input: `{ledger, data: {postings, metadata, timestamp}}`."""
    posting = {
        "source": transfer.source,
        "destination": transfer.destination,
        "amount": str(transfer.amount),
        "asset": transfer.asset,
    }
    data: dict[str, Any] = {"postings": [posting], "metadata": transfer.metadata}
    if transfer.timestamp is not None:
        data["timestamp"] = to_iso(transfer.timestamp)
    return {"ledger": transfer.ledger, "data": data}


def _done(draft: Draft, workflow: Workflow) -> Move:
    draft.set_wake(None)
    _succeed(draft, workflow)
    return Move.COMMIT


Work = Callable[[], Awaitable[dict[str, Any]]]


async def _attempt(
    draft: Draft, workflow: Workflow, deps: StepDeps, name: str, payload: dict[str, Any], work: Work
) -> Move | None:
    """Run one activity: None when it succeeded, else the move (retry later, or failed)."""
    stage = draft.stage
    previous = stage.pending
    attempt = previous.attempt if previous else 1
    """A pending entry carries the attempt it schedules (Temporal's pending activity does)."""
    started = previous.started_at if previous else draft.now()

    def record(*, ended: bool = True, scheduled: int | None = None, **outcome: Any) -> None:
        """One history entry per activity: an attempt replaces the previous attempt's entry
        (the pending one)."""
        if ended:
            outcome.update(terminated=True, terminated_at=draft.now())
        number = scheduled or attempt
        draft.add_activity(Activity(name=name, input=payload, started_at=started, attempt=number, **outcome))

    try:
        output = await work()
    except InsufficientFunds as error:  # retried until the account is funded, as Formance does
        message = f"{error.code.value}: {error.message}"
        return _retry(draft, workflow, deps, attempt, message, record)
    except FlowqlError as error:  # a bad spec, an unknown wallet: the stage fails at once
        message = f"{error.code.value}: {error.message}"
        record(error=message)
        return _fail(draft, message)
    except Exception as error:  # anything else is transient: retried with backoff
        return _retry(draft, workflow, deps, attempt, f"{type(error).__name__}: {error}", record)
    crash_point("after-activity")
    record(output=output, last_failure=previous.last_failure if previous else None)
    return None


def _retry(
    draft: Draft, workflow: Workflow, deps: StepDeps, attempt: int, message: str, record: Callable[..., None]
) -> Move:
    bound = workflow.config.retry.max_attempts if workflow.config.retry else None
    policy = deps.retry.bounded(bound)
    if policy.exhausted(attempt):
        record(error=message, last_failure=message)
        return _fail(draft, f"gave up after {attempt} attempts: {message}")
    next_execution = draft.now() + policy.delay_after(attempt)
    record(ended=False, scheduled=attempt + 1, last_failure=message, next_execution=next_execution)
    draft.set_wake(next_execution)
    if deps.on_retry is not None:
        deps.on_retry(draft.stage.kind.value)
    return Move.BLOCK


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
    """Handles the inbox events after the instance's cursor, at most `INBOX_BATCH` per
    commit (a commit carries their history entries: it stays small)."""
    instance = draft.instance
    events = await deps.inbox(instance.id, instance.inbox_cursor, INBOX_BATCH)
    for event in events:
        instance.inbox_cursor = event.position
        matched = event.name == instance.waiting_for
        if not matched:
            draft.stage.ignored += 1
            if draft.stage.ignored > MAX_IGNORED_RECORDED:
                draft.touched = True
                if deps.on_unrecorded is not None:
                    deps.on_unrecorded()
                continue
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
    return Move.COMMIT if len(events) == INBOX_BATCH else Move.BLOCK
