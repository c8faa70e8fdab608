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
from .node import Node
from .workflow import Workflow


@strawberry.type(description="One event a trigger matched: the instance it started, or the error.")
class TriggerOccurrence(Node):
    model: strawberry.Private[models.TriggerOccurrence]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def date(self) -> datetime:
        return self.model.date

    @strawberry.field(name="triggerID")
    def trigger_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.trigger_id)

    @strawberry.field
    def event(self) -> JSON:
        return JSON(self.model.event)

    @strawberry.field(name="workflowInstanceID")
    def workflow_instance_id(self) -> strawberry.ID | None:
        instance_id = self.model.workflow_instance_id
        return strawberry.ID(instance_id) if instance_id else None

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field(description="The instance it started, if any.")
    async def instance(self, info: Info) -> Instance | None:
        if self.model.workflow_instance_id is None:
            return None
        instance = await info.context.loaders.instance.load(self.model.workflow_instance_id)
        return Instance(model=instance) if instance else None


@strawberry.type(description="Starts a workflow when an event of type `event` matches `filter`.")
class Trigger(Node):
    model: strawberry.Private[models.Trigger]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str | None:
        return self.model.name

    @strawberry.field
    def event(self) -> str:
        return self.model.event

    @strawberry.field
    def version(self) -> str | None:
        return self.model.version

    @strawberry.field(name="workflowID")
    def workflow_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.workflow_id)

    @strawberry.field(description="A CEL expression over `event`.")
    def filter(self) -> str | None:
        return self.model.filter

    @strawberry.field(description="Variable name to CEL expression over `event`.")
    def vars(self) -> JSON:
        return JSON(dict(self.model.vars))

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Set once deleted: a deleted trigger starts nothing.")
    def deleted_at(self) -> datetime | None:
        return self.model.deleted_at

    @strawberry.field
    async def workflow(self, info: Info) -> Workflow | None:
        workflow = await info.context.loaders.workflow.load(self.model.workflow_id)
        return Workflow(model=workflow) if workflow else None

    @strawberry.field(description="Events this trigger matched, newest first.")
    async def occurrences(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TriggerOccurrence]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.triggers.list_occurrences(self.model.id, request)
        return connection_of(page, lambda m: TriggerOccurrence(model=m))


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
    model: strawberry.Private[_TestResult]

    @strawberry.field
    def match(self) -> bool:
        return self.model.match

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field
    def variables(self) -> list[TriggerTestVariable]:
        variables = self.model.variables.items()
        return [TriggerTestVariable(name=name, value=v.value, error=v.error) for name, v in variables]


@strawberry.input
class CreateTriggerInput:
    name: str | None = None
    event: str
    workflow_id: strawberry.ID = strawberry.field(name="workflowID")
    version: str | None = None
    filter: str | None = None
    vars: JSON | None = None


__all__ = ["CreateTriggerInput", "Trigger", "TriggerOccurrence", "TriggerTest", "TriggerTestVariable"]
