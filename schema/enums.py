"""The engine's status and kind enums, exposed as GraphQL enums (names are the values)."""

from __future__ import annotations

import strawberry

from flowql.engine.models import InstanceStatus, StageStatus
from flowql.engine.stages import StageKind

strawberry.enum(InstanceStatus, description="RUNNING, then one of SUCCEEDED, FAILED, CANCELLED.")
strawberry.enum(
    StageStatus, description="RUNNING or WAITING (delay, wait_event), then SUCCEEDED, FAILED, CANCELLED."
)
strawberry.enum(StageKind, description="The one key of a stage spec.")

__all__ = ["InstanceStatus", "StageKind", "StageStatus"]
