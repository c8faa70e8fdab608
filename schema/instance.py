"""`Instance`: one run of a workflow."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models
from flowql.engine.models import InstanceStatus

from .context import Info
from .stage import Activity, Stage
from .transition import StageTransition
from .workflow import Workflow


@strawberry.type(description="One run of a workflow: its status and every stage it reached.")
class Instance:
    id: strawberry.ID
    workflow_id: strawberry.ID = strawberry.field(name="workflowID")
    status: InstanceStatus
    terminated: bool
    terminated_at: datetime | None
    error: str | None
    variables: JSON
    created_at: datetime
    updated_at: datetime
    stages: list[Stage] = strawberry.field(description="One entry per stage reached, in order.")

    @classmethod
    def from_model(cls, m: models.Instance) -> Instance:
        return cls(
            id=strawberry.ID(m.id),
            workflow_id=strawberry.ID(m.workflow_id),
            status=m.status,
            terminated=m.terminated,
            terminated_at=m.terminated_at,
            error=m.error,
            variables=JSON(dict(m.variables)),
            created_at=m.created_at,
            updated_at=m.updated_at,
            stages=[Stage.from_model(s, workflow_id=m.workflow_id) for s in m.stages],
        )

    @strawberry.field(
        description="The workflow it runs (also when that workflow was deleted since).",
        graphql_type=Workflow | None,
    )
    def workflow(self, info: Info) -> Awaitable[Workflow | None]:
        # The loader's future itself: graphql-core awaits it, no coroutine per instance.
        future: Awaitable[Workflow | None] = info.context.loaders.workflow_node.load(self.workflow_id)
        return future

    @strawberry.field(description="Every stage transition so far, in order (one store query per instance).")
    async def history(self, info: Info) -> list[StageTransition]:
        transitions = await info.context.engine.orchestration.transitions(self.id)
        return [StageTransition.from_model(t) for t in transitions]

    @strawberry.field(description="The activities one stage ran, with attempts and failures.")
    async def stage_history(self, info: Info, stage: int) -> list[Activity]:
        activities = await info.context.engine.orchestration.stage_history(self.id, stage)
        return [Activity.from_model(a) for a in activities]


__all__ = ["Instance"]
