"""`Trigger`, `TriggerOccurrence`, `TriggerTest` and `CreateTriggerInput`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models

from .connection import Connection, connection_of, page_request
from .context import Info
from .instance import Instance
from .workflow import Workflow


@strawberry.type(description="One event a trigger matched: the instance it started, or the error.")
class TriggerOccurrence:
    id: strawberry.ID
    date: datetime
    trigger_id: strawberry.ID = strawberry.field(name="triggerID")
    event: JSON
    workflow_instance_id: strawberry.ID | None = strawberry.field(name="workflowInstanceID")
    error: str | None

    @classmethod
    def from_model(cls, m: models.TriggerOccurrence) -> TriggerOccurrence:
        return cls(
            id=strawberry.ID(m.id),
            date=m.date,
            trigger_id=strawberry.ID(m.trigger_id),
            event=JSON(m.event),
            workflow_instance_id=strawberry.ID(m.workflow_instance_id) if m.workflow_instance_id else None,
            error=m.error,
        )

    @strawberry.field(description="The instance it started, if any.")
    async def instance(self, info: Info) -> Instance | None:
        if self.workflow_instance_id is None:
            return None
        instance = await info.context.loaders.instance.load(self.workflow_instance_id)
        return Instance.from_model(instance) if instance else None


@strawberry.type(description="Starts a workflow when an event of type `event` matches `filter`.")
class Trigger:
    id: strawberry.ID
    name: str | None
    event: str
    version: str | None
    workflow_id: strawberry.ID = strawberry.field(name="workflowID")
    filter: str | None = strawberry.field(description="A CEL expression over `event`.")
    vars: JSON = strawberry.field(description="Variable name to CEL expression over `event`.")
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.Trigger) -> Trigger:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            event=m.event,
            version=m.version,
            workflow_id=strawberry.ID(m.workflow_id),
            filter=m.filter,
            vars=JSON(dict(m.vars)),
            created_at=m.created_at,
        )

    @strawberry.field
    async def workflow(self, info: Info) -> Workflow | None:
        workflow = await info.context.loaders.workflow.load(self.workflow_id)
        return Workflow.from_model(workflow) if workflow else None

    @strawberry.field(description="Events this trigger matched, newest first.")
    async def occurrences(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TriggerOccurrence]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.triggers.list_occurrences(self.id, request)
        return connection_of(page, TriggerOccurrence.from_model)


class _VariableResult(Protocol):
    @property
    def value(self) -> str | None: ...

    @property
    def error(self) -> str | None: ...


class _TestResult(Protocol):
    @property
    def match(self) -> bool: ...

    @property
    def error(self) -> str | None: ...

    @property
    def variables(self) -> Mapping[str, _VariableResult]: ...


@strawberry.type
class TriggerTestVariable:
    name: str
    value: str | None
    error: str | None


@strawberry.type(description="What a trigger would do with an event: filter result and variables.")
class TriggerTest:
    match: bool
    error: str | None
    variables: list[TriggerTestVariable]

    @classmethod
    def from_model(cls, m: _TestResult) -> TriggerTest:
        return cls(
            match=m.match,
            error=m.error,
            variables=[
                TriggerTestVariable(name=name, value=v.value, error=v.error)
                for name, v in m.variables.items()
            ],
        )


@strawberry.input
class CreateTriggerInput:
    name: str | None = None
    event: str
    workflow_id: strawberry.ID = strawberry.field(name="workflowID")
    version: str | None = None
    filter: str | None = None
    vars: JSON | None = None


__all__ = ["CreateTriggerInput", "Trigger", "TriggerOccurrence", "TriggerTest", "TriggerTestVariable"]
