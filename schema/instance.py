"""`Instance`: one run of a workflow."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models
from flowql.engine.models import InstanceStatus
from flowql.engine.store import MAX_ROWS

from .context import Info
from .history_page import HISTORY_PAGE, history_page
from .node import Node
from .stage import Activity, Stage
from .transition import StageTransition
from .workflow import Workflow


@strawberry.type(description="One run of a workflow: its status and every stage it reached.")
class Instance(Node):
    model: strawberry.Private[models.Instance]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field(name="workflowID")
    def workflow_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.workflow_id)

    @strawberry.field
    def status(self) -> InstanceStatus:
        return self.model.status

    @strawberry.field
    def terminated(self) -> bool:
        return self.model.terminated

    @strawberry.field
    def terminated_at(self) -> datetime | None:
        return self.model.terminated_at

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field
    def variables(self) -> JSON:
        return JSON(dict(self.model.variables))

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.model.updated_at

    @strawberry.field(description="One entry per stage reached, in order.")
    def stages(self) -> list[Stage]:
        m = self.model
        return [Stage(model=s, instance_id=m.id, workflow_id=m.workflow_id) for s in m.stages]

    @strawberry.field(
        description="The workflow it runs (also when that workflow was deleted since).",
        graphql_type=Workflow | None,
    )
    def workflow(self, info: Info) -> Awaitable[Workflow | None]:
        # The loader's future itself: graphql-core awaits it, no coroutine per instance.
        future: Awaitable[Workflow | None] = info.context.loaders.workflow_node.load(self.model.workflow_id)
        return future

    @strawberry.field(
        description=(
            "The stage transitions so far, in order (one store query per instance): at most `first` "
            f"(1..{MAX_ROWS}, default {MAX_ROWS}) with `seq` after `afterSeq` (default 0)."
        )
    )
    async def history(
        self, info: Info, first: int | None = None, after_seq: int | None = None
    ) -> list[StageTransition]:
        size, start = history_page(first, after_seq, after_name="afterSeq")
        transitions = await info.context.engine.orchestration.transitions(self.model.id, start, size)
        return [StageTransition(model=t) for t in transitions]

    @strawberry.field(description=f"One stage's history (as `Stage.history`). {HISTORY_PAGE}")
    async def stage_history(
        self, info: Info, stage: int, first: int | None = None, after: int | None = None
    ) -> list[Activity]:
        size, start = history_page(first, after)
        activities = await info.context.engine.orchestration.stage_history(
            self.model.id, stage, after=start, first=size
        )
        return [Activity(model=a) for a in activities]


__all__ = ["Instance"]
