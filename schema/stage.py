"""`Stage` (one reached stage of an instance) and `Activity` (one entry of its history)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models
from flowql.engine.models import StageStatus
from flowql.engine.stages import StageKind

from .context import Info
from .history_page import HISTORY_PAGE, history_page
from .node import Node, stage_id
from .stage_definition import StageDefinition, definition_of


@strawberry.type(description="One activity a stage ran (a posting, a timer, an event...), with its attempts.")
class Activity:
    model: strawberry.Private[models.Activity]

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def input(self) -> JSON:
        return JSON(self.model.input)

    @strawberry.field
    def output(self) -> JSON | None:
        return JSON(self.model.output) if self.model.output is not None else None

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field
    def terminated(self) -> bool:
        return self.model.terminated

    @strawberry.field
    def started_at(self) -> datetime:
        return self.model.started_at

    @strawberry.field
    def terminated_at(self) -> datetime | None:
        return self.model.terminated_at

    @strawberry.field
    def attempt(self) -> int:
        return self.model.attempt

    @strawberry.field
    def last_failure(self) -> str | None:
        return self.model.last_failure

    @strawberry.field
    def next_execution(self) -> datetime | None:
        return self.model.next_execution


@strawberry.type(description="The state of one stage an instance reached; `id` is `{instanceID}:{index}`.")
class Stage(Node):
    model: strawberry.Private[models.StageState]
    instance_id: strawberry.Private[str]
    workflow_id: strawberry.Private[str]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return stage_id(self.instance_id, self.model.stage)

    @strawberry.field
    def index(self) -> int:
        return self.model.stage

    @strawberry.field
    def kind(self) -> StageKind:
        return self.model.kind

    @strawberry.field
    def status(self) -> StageStatus:
        return self.model.status

    @strawberry.field
    def started_at(self) -> datetime:
        return self.model.started_at

    @strawberry.field
    def terminated_at(self) -> datetime | None:
        return self.model.terminated_at

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field(description=HISTORY_PAGE)
    async def history(self, info: Info, first: int | None = None, after: int | None = None) -> list[Activity]:
        size, start = history_page(first, after)
        activities = await info.context.loaders.stage_history.load(
            (self.instance_id, self.model, start, size)
        )
        return [Activity(model=a) for a in activities]

    @strawberry.field
    def terminated(self) -> bool:
        return self.model.status.terminal

    @strawberry.field(description="The stage's spec as the workflow holds it (JSON).")
    async def spec(self, info: Info) -> JSON | None:
        workflow = await info.context.loaders.workflow.load(self.workflow_id)
        return JSON(workflow.config.stages[self.model.stage]) if workflow else None

    @strawberry.field(description="The stage's spec as a typed object.")
    async def definition(self, info: Info) -> StageDefinition | None:
        workflow = await info.context.loaders.workflow.load(self.workflow_id)
        return definition_of(workflow.config.stages[self.model.stage]) if workflow else None


__all__ = ["Activity", "Stage"]
