"""Triggers: run a workflow when an event of a given type arrives, with expr-lang filter and vars.

Dispatch of one event: the live triggers of its type (cached per type, invalidated on
create and delete), narrowed by version when a trigger names one; for each, the filter,
then the vars, then `run_workflow`, then one stored occurrence with the instance id or the
error. Nothing an event carries can crash dispatch: evaluation failures become occurrences.
The triggers of one event are dispatched at once: a slow sandboxed filter (bounded by the
sandbox's timeouts) holds up no other trigger.

Exactly once per event id: an event with an id (`EventMessage.id`, or the NATS message id)
starts its instance under `uuid5(trigger id, event id)`, and occurrences are unique on
`(trigger, event id)`. A redelivered event finds the instance already there (CONFLICT,
treated as started) and its occurrence already stored (not returned again). An event
without an id cannot be recognised when sent twice: each delivery dispatches anew.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .bounds import MAX_NAME_LENGTH
from .cel import Expression, compile_expression
from .cel_sandbox import Refusal, Sandbox
from .clock import to_iso, utc_now
from .errors import ErrorCode, FlowqlError, not_found, validation
from .links import Links
from .models import EventMessage, Trigger, TriggerOccurrence, new_sortable_id
from .pagination import Page, PageRequest
from .services import Orchestration
from .store import Store
from .trigger_eval import MAX_PAYLOAD_BYTES, Evaluation

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("5f0c6b1e-7a43-4f7e-9a51-2d8e3c1b9f40")
"""uuid5 namespace of instance ids started by triggers (never change it: dedup relies on it)."""
MAX_VARS = 100
CACHE_TTL = 5.0
"""Seconds a per-type trigger list is trusted: this process invalidates on its own writes;
the TTL bounds how long a write by another process on the same store goes unseen."""


@dataclass(frozen=True, slots=True)
class VariableResult:
    value: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class TriggerTest:
    match: bool
    error: str | None
    variables: dict[str, VariableResult]
    has_filter: bool = True
    """False when the trigger has no filter (Formance answers `filter: null`)."""


OBJECT_EVENTS = frozenset({"SAVED_PAYMENT", "SAVED_ACCOUNT"})
"""Events that start a trigger's workflow once per object id (Formance's listener.go: the
workflow id `prefix-triggerID-objectID` with REJECT_DUPLICATE)."""


def dedup_key(event: EventMessage) -> str | None:
    """What makes two deliveries the same for a trigger: the payment's or account's id for
    SAVED_PAYMENT / SAVED_ACCOUNT, else the event's own id."""
    if event.type in OBJECT_EVENTS:
        object_id = event.payload.get("id")
        if isinstance(object_id, str | int) and not isinstance(object_id, bool) and str(object_id):
            return f"{event.type}:{object_id}"
    return event.id


def message_of(event: EventMessage) -> dict[str, Any]:
    """The whole event message, as Formance stores it in an occurrence."""
    message: dict[str, Any] = {"type": event.type, "payload": event.payload}
    optional = {
        "date": to_iso(event.date) if event.date else None,
        "app": event.app,
        "version": event.version,
        "idempotencyKey": event.id,
    }
    message.update({k: v for k, v in optional.items() if v is not None})
    return message


@dataclass(frozen=True, slots=True)
class _Compiled:
    trigger: Trigger
    filter: Expression | None
    vars: dict[str, Expression]
    error: str | None = None
    """Set when a stored expression no longer compiles: every match records it."""


class TriggerService:
    def __init__(
        self,
        store: Store,
        orchestration: Orchestration,
        *,
        sandbox: Sandbox | None = None,
        links: Links | None = None,
        cache_ttl: float = CACHE_TTL,
    ) -> None:
        self._store = store
        self._orchestration = orchestration
        self._sandbox = sandbox or Sandbox()
        self._links = links
        self._ttl = cache_ttl
        self._compiled: dict[str, _Compiled] = {}
        self._filter_error_listeners: list[Callable[[], None]] = []
        self._by_type: dict[str, tuple[float, list[_Compiled]]] = {}
        self._generation = 0

    def add_refusal_listener(self, listener: Callable[[Refusal], None]) -> None:
        """Told of each sandboxed evaluation refused or timed out (`cel_sandbox`)."""
        self._sandbox.add_listener(listener)

    def add_filter_error_listener(self, listener: Callable[[], None]) -> None:
        """Told of each event a filter could not judge (an error or a non-boolean result)."""
        self._filter_error_listeners.append(listener)

    # --- CRUD ---------------------------------------------------------------------------
    async def create_trigger(
        self,
        *,
        name: str | None,
        event: str,
        workflow_id: str,
        version: str | None = None,
        filter: str | None = None,
        vars: dict[str, str] | None = None,
    ) -> Trigger:
        """Compile every expression, check the workflow is live, store the trigger."""
        _check_text("event", event, required=True)
        _check_text("name", name)
        _check_text("version", version)
        if isinstance(filter, str) and not filter.strip():
            filter = None  # an empty filter matches everything, as no filter does
        if vars is not None and not isinstance(vars, dict):
            raise validation("vars: must be an object of CEL expressions", field="vars")
        variables = dict(vars or {})
        if len(variables) > MAX_VARS:
            raise validation(f"vars: at most {MAX_VARS} variables", field="vars")
        for key in variables:
            if not isinstance(key, str) or not key:
                raise validation("vars: names must be non-empty strings", field="vars")
        compiled_filter = compile_expression("filter", filter) if filter is not None else None
        compiled_vars = {key: compile_expression(f"vars.{key}", src) for key, src in variables.items()}
        await self._orchestration.get_workflow(workflow_id)
        trigger = Trigger(
            id=new_sortable_id(),
            name=name,
            event=event,
            version=version or None,
            workflow_id=workflow_id,
            filter=filter,
            vars=variables,
            created_at=utc_now(),
        )
        await self._store.insert_trigger(trigger)
        self._compiled[trigger.id] = _Compiled(trigger, compiled_filter, compiled_vars)
        self._invalidate()
        return trigger

    async def get_trigger(self, trigger_id: str) -> Trigger:
        trigger = await self._store.get_trigger(trigger_id)
        if trigger is None or trigger.deleted_at is not None:
            raise not_found("trigger", trigger_id)
        return trigger

    async def list_triggers(self, page: PageRequest, *, name: str | None = None) -> Page[Trigger]:
        if name:  # longer than any trigger's name: refused before the store scans for it
            _check_text("name", name)
        return await self._store.list_triggers(page, name=name)

    async def find_trigger(self, trigger_id: str) -> Trigger | None:
        """Deleted triggers too (global object lookups show them with `deleted_at`)."""
        return await self._store.get_trigger(trigger_id)

    async def delete_trigger(self, trigger_id: str) -> Trigger:
        """Soft delete; returns the trigger with its `deleted_at`."""
        if not await self._store.delete_trigger(trigger_id, utc_now()):
            raise not_found("trigger", trigger_id)
        self._compiled.pop(trigger_id, None)
        self._invalidate()
        deleted = await self._store.get_trigger(trigger_id)
        if deleted is None:
            raise not_found("trigger", trigger_id)
        return deleted

    async def find_occurrences(self, occurrence_ids: Sequence[str]) -> dict[str, TriggerOccurrence]:
        """Occurrences by id (those that exist)."""
        return await self._store.get_occurrences(occurrence_ids)

    async def list_occurrences(self, trigger_id: str, page: PageRequest) -> Page[TriggerOccurrence]:
        """Newest first. A deleted trigger keeps its history; an unknown one is NOT_FOUND."""
        if await self._store.get_trigger(trigger_id) is None:
            raise not_found("trigger", trigger_id)
        return await self._store.list_occurrences(trigger_id, page)

    # --- evaluation ---------------------------------------------------------------------
    async def test_trigger(self, trigger_id: str, payload: dict[str, Any]) -> TriggerTest:
        """The filter's result and every variable's value or error; starts nothing."""
        compiled = self._compile(await self.get_trigger(trigger_id))
        if compiled.error is not None:
            return TriggerTest(match=False, error=compiled.error, variables={})
        evaluation = Evaluation(_check_payload(payload), self._sandbox, self._links)
        match, error = True, None
        if compiled.filter is not None:
            outcome = await evaluation.run("filter", compiled.filter)
            match, error = outcome.value is True, outcome.error
        variables: dict[str, VariableResult] = {}
        for key, expression in compiled.vars.items() if match else ():  # Formance: only on a match
            outcome = await evaluation.run("var", expression)
            value = outcome.value if isinstance(outcome.value, str) else None
            variables[key] = VariableResult(value=value, error=outcome.error)
        return TriggerTest(
            match=match, error=error, variables=variables, has_filter=compiled.filter is not None
        )

    async def publish(self, event: EventMessage) -> list[TriggerOccurrence]:
        """Dispatch one event; returns the occurrences stored now (none for a redelivery)."""
        matching = [
            compiled
            for compiled in await self._for_type(event.type)
            if compiled.trigger.version is None or compiled.trigger.version == event.version
        ]
        if not matching:
            return []
        evaluation = Evaluation(_check_payload(event.payload), self._sandbox, self._links)
        # At once, so a sandboxed expression (up to its timeouts) delays no other trigger.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._dispatch(c, event, evaluation)) for c in matching]
        except ExceptionGroup as failed:  # a store failure: the caller's to handle, as before
            raise failed.exceptions[0] from None
        return [occurrence for task in tasks if (occurrence := task.result()) is not None]

    async def close(self) -> None:
        """Stop the sandbox workers (if any ever started)."""
        await self._sandbox.close()

    # --- dispatch -----------------------------------------------------------------------
    async def _dispatch(
        self, compiled: _Compiled, event: EventMessage, evaluation: Evaluation
    ) -> TriggerOccurrence | None:
        if compiled.error is not None:
            return await self._record(compiled, event, error=compiled.error)
        if compiled.filter is not None:
            outcome = await evaluation.run("filter", compiled.filter)
            if outcome.error is not None:  # Formance logs it and skips the trigger
                log.warning(
                    "trigger filter failed; event skipped",
                    extra={"trigger": compiled.trigger.id, "event": event.type, "error": outcome.error},
                )
                for listener in self._filter_error_listeners:
                    listener()
                return None
            if outcome.value is not True:
                return None
        variables: dict[str, str] = {}
        for key, expression in compiled.vars.items():
            outcome = await evaluation.run("var", expression)
            if outcome.error is not None or not isinstance(outcome.value, str):
                return await self._record(compiled, event, error=f"vars.{key}: {outcome.error}")
            variables[key] = outcome.value
        trigger = compiled.trigger
        same = dedup_key(event)
        instance_id = instance_id_for(trigger.id, same) if same else new_sortable_id()
        try:
            await self._orchestration.run_workflow(trigger.workflow_id, variables, instance_id=instance_id)
        except FlowqlError as exc:
            if not (exc.code is ErrorCode.CONFLICT and same):
                return await self._record(compiled, event, error=f"{exc.code.value}: {exc.message}")
            # started by an earlier delivery of this event; record the occurrence if it was not
        return await self._record(compiled, event, instance_id=instance_id)

    async def _record(
        self,
        compiled: _Compiled,
        event: EventMessage,
        *,
        instance_id: str | None = None,
        error: str | None = None,
    ) -> TriggerOccurrence | None:
        occurrence = TriggerOccurrence(
            id=new_sortable_id(),
            trigger_id=compiled.trigger.id,
            date=utc_now(),
            event=message_of(event),
            event_id=dedup_key(event),
            workflow_instance_id=instance_id,
            error=error,
        )
        return occurrence if await self._store.insert_occurrence(occurrence) else None

    # --- caches -------------------------------------------------------------------------
    def _compile(self, trigger: Trigger) -> _Compiled:
        cached = self._compiled.get(trigger.id)
        if cached is not None:
            return cached
        try:
            compiled = _Compiled(
                trigger,
                compile_expression("filter", trigger.filter) if trigger.filter else None,
                {key: compile_expression(f"vars.{key}", src) for key, src in trigger.vars.items()},
            )
        except FlowqlError as exc:
            compiled = _Compiled(trigger, None, {}, error=exc.message)
        self._compiled[trigger.id] = compiled
        return compiled

    def _invalidate(self) -> None:
        self._generation += 1
        self._by_type.clear()

    async def _for_type(self, event_type: str) -> list[_Compiled]:
        cached = self._by_type.get(event_type)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        generation, started = self._generation, time.monotonic()
        compiled = [self._compile(t) for t in await self._store.triggers_for_event(event_type)]
        if generation == self._generation:  # no create/delete raced the read
            self._by_type[event_type] = (started, compiled)
        return compiled


def instance_id_for(trigger_id: str, event_id: str) -> str:
    """The instance a trigger starts for one event: the same on every delivery."""
    return str(uuid.uuid5(NAMESPACE, f"{trigger_id}:{event_id}"))


def _check_text(field: str, value: str | None, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise validation(f"{field}: must be a non-empty string", field=field)
    if len(value) > MAX_NAME_LENGTH:
        raise validation(f"{field}: at most {MAX_NAME_LENGTH} characters", field=field)


def _check_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise validation("payload: must be a JSON object", field="payload")
    return payload


__all__ = ["MAX_PAYLOAD_BYTES", "TriggerService", "TriggerTest", "VariableResult", "instance_id_for"]
