"""`Stage` (one reached stage of an instance) and `Activity` (one entry of its history)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models
from flowql.engine.models import StageStatus
from flowql.engine.stages import StageKind

from .context import Info
from .stage_definition import StageDefinition, definition_of


@strawberry.type(description="One activity a stage ran (a posting, a timer, an event...), with its attempts.")
class Activity:
    name: str
    input: JSON
    output: JSON | None
    error: str | None
    terminated: bool
    started_at: datetime
    terminated_at: datetime | None
    attempt: int
    last_failure: str | None
    next_execution: datetime | None

    @classmethod
    def from_model(cls, m: models.Activity) -> Activity:
        return cls(
            name=m.name,
            input=JSON(m.input),
            output=JSON(m.output) if m.output is not None else None,
            error=m.error,
            terminated=m.terminated,
            started_at=m.started_at,
            terminated_at=m.terminated_at,
            attempt=m.attempt,
            last_failure=m.last_failure,
            next_execution=m.next_execution,
        )


@strawberry.type(description="The state of one stage an instance reached.")
class Stage:
    index: int
    kind: StageKind
    status: StageStatus
    started_at: datetime
    terminated_at: datetime | None
    error: str | None
    history: list[Activity]
    workflow_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, m: models.StageState, *, workflow_id: str) -> Stage:
        return cls(
            index=m.stage,
            kind=m.kind,
            status=m.status,
            started_at=m.started_at,
            terminated_at=m.terminated_at,
            error=m.error,
            history=[Activity.from_model(a) for a in m.history],
            workflow_id=workflow_id,
        )

    @strawberry.field
    def terminated(self) -> bool:
        return self.status.terminal

    @strawberry.field(description="The stage's spec as the workflow holds it (JSON).")
    async def spec(self, info: Info) -> JSON | None:
        workflow = await info.context.loaders.workflow.load(self.workflow_id)
        return JSON(workflow.config.stages[self.index]) if workflow else None

    @strawberry.field(description="The stage's spec as a typed object.")
    async def definition(self, info: Info) -> StageDefinition | None:
        workflow = await info.context.loaders.workflow.load(self.workflow_id)
        return definition_of(workflow.config.stages[self.index]) if workflow else None


__all__ = ["Activity", "Stage"]
