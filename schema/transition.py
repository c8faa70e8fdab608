"""`StageTransition`: one change of a stage's status, as stored and streamed."""

from __future__ import annotations

from datetime import datetime

import strawberry

from flowql.engine import models
from flowql.engine.models import InstanceStatus, StageStatus
from flowql.engine.stages import StageKind


@strawberry.type(description="A change of one stage's status; `seq` orders them per instance.")
class StageTransition:
    instance_id: strawberry.ID = strawberry.field(name="instanceID")
    workflow_id: strawberry.ID = strawberry.field(name="workflowID")
    seq: int
    stage: int
    kind: StageKind
    status: StageStatus
    instance_status: InstanceStatus
    at: datetime
    error: str | None

    @classmethod
    def from_model(cls, m: models.Transition) -> StageTransition:
        return cls(
            instance_id=strawberry.ID(m.instance_id),
            workflow_id=strawberry.ID(m.workflow_id),
            seq=m.seq,
            stage=m.stage,
            kind=m.kind,
            status=m.status,
            instance_status=m.instance_status,
            at=m.at,
            error=m.error,
        )


__all__ = ["StageTransition"]
