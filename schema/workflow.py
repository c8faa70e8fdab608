"""`Workflow`: an immutable list of stages; `CreateWorkflowInput`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from flowql.engine import models

from .connection import Connection, connection_of, page_request
from .context import Info
from .node import Node
from .stage_definition import StageDefinition, definition_of
from .stage_input import StageInput

if TYPE_CHECKING:  # for mypy only: Strawberry resolves it through strawberry.lazy
    from .instance import Instance


@strawberry.type(
    description="A workflow's retry policy: at most `maxAttempts` attempts per activity "
    "(the smaller of this and the server's `--max-attempts` applies)."
)
class WorkflowRetry:
    max_attempts: int


@strawberry.type(description="A named list of stages; immutable once created.")
class Workflow(Node):
    model: strawberry.Private[models.Workflow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str | None:
        return self.model.config.name

    @strawberry.field(description="The stage specs as sent: one-key objects.")
    def stages(self) -> JSON:
        return JSON(self.model.config.stages)

    @strawberry.field(
        description="This workflow's own bound on activity attempts; null: the server's "
        "(unbounded by default, as in Formance)."
    )
    def retry(self) -> WorkflowRetry | None:
        policy = self.model.config.retry
        return WorkflowRetry(max_attempts=policy.max_attempts) if policy is not None else None

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.model.updated_at

    @strawberry.field
    def deleted_at(self) -> datetime | None:
        return self.model.deleted_at

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
        return connection_of(page, lambda m: Instance(model=m))


@strawberry.input(description="A workflow's retry policy, as REST's `retry: {maxAttempts}`.")
class WorkflowRetryInput:
    max_attempts: int


@strawberry.input(description="A named list of stages, each an object with exactly one kind.")
class CreateWorkflowInput:
    name: str | None = None
    stages: list[StageInput]
    retry: WorkflowRetryInput | None = strawberry.field(
        default=None,
        description="Bound the attempts of each activity (1..1000000); without it activities retry "
        "until they succeed or fail for good, as in Formance (or up to the server's `--max-attempts`).",
    )


__all__ = ["CreateWorkflowInput", "Workflow", "WorkflowRetry", "WorkflowRetryInput"]
