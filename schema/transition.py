"""`StageTransition`: one change of a stage's status, as stored and streamed."""

from __future__ import annotations

from datetime import datetime

import strawberry

from flowql.engine import models
from flowql.engine.models import InstanceStatus, StageStatus
from flowql.engine.stages import StageKind


@strawberry.type(description="A change of one stage's status; `seq` orders them per instance.")
class StageTransition:
    model: strawberry.Private[models.Transition]

    @strawberry.field(name="instanceID")
    def instance_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.instance_id)

    @strawberry.field(name="workflowID")
    def workflow_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.workflow_id)

    @strawberry.field
    def seq(self) -> int:
        return self.model.seq

    @strawberry.field
    def stage(self) -> int:
        return self.model.stage

    @strawberry.field
    def kind(self) -> StageKind:
        return self.model.kind

    @strawberry.field
    def status(self) -> StageStatus:
        return self.model.status

    @strawberry.field
    def instance_status(self) -> InstanceStatus:
        return self.model.instance_status

    @strawberry.field
    def at(self) -> datetime:
        return self.model.at

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error


__all__ = ["StageTransition"]
