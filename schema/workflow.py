"""`Workflow`: an immutable list of stages; `CreateWorkflowInput`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models

from .connection import Connection, connection_of, page_request
from .context import Info
from .stage_definition import StageDefinition, definition_of

if TYPE_CHECKING:  # for mypy only: Strawberry resolves it through strawberry.lazy
    from .instance import Instance


@strawberry.type(description="A named list of stages; immutable once created.")
class Workflow:
    id: strawberry.ID
    name: str | None
    stages: JSON = strawberry.field(description="The stage specs as sent: one-key objects.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    model: strawberry.Private[models.Workflow]

    @classmethod
    def from_model(cls, m: models.Workflow) -> Workflow:
        return cls(
            id=strawberry.ID(m.id),
            name=m.config.name,
            stages=JSON(m.config.stages),
            created_at=m.created_at,
            updated_at=m.updated_at,
            deleted_at=m.deleted_at,
            model=m,
        )

    @strawberry.field(description="The stages as typed objects, one type per kind.")
    def stage_definitions(self) -> list[StageDefinition]:
        return [definition_of(raw, path=f"stages[{i}]") for i, raw in enumerate(self.model.config.stages)]

    @strawberry.field(description="Instances of this workflow, newest first.")
    async def instances(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        running: bool | None = None,
    ) -> Connection[Annotated[Instance, strawberry.lazy("flowql.schema.instance")]]:
        from .instance import Instance

        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.orchestration.list_instances(
            request, workflow_id=self.model.id, running=running
        )
        return connection_of(page, Instance.from_model)


@strawberry.input(description="`stages`: a list of one-key objects (send, delay, wait_event, update).")
class CreateWorkflowInput:
    name: str | None = None
    stages: JSON


__all__ = ["CreateWorkflowInput", "Workflow"]
