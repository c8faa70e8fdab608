"""DataLoaders, built per request (per connection for WebSockets) in `get_context`."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from flowql.engine.models import Instance, Workflow
from flowql.engine.runtime import Engine
from flowql.schema import Loaders
from flowql.schema import Workflow as WorkflowNode


def build_loaders(engine: Engine) -> Loaders:
    orchestration = engine.orchestration

    async def workflows(ids: list[str]) -> list[Workflow | None]:
        return await orchestration.load_workflows(ids)

    async def instances(ids: list[str]) -> list[Instance | None]:
        return await orchestration.load_instances(ids)

    workflow = DataLoader(workflows)

    async def workflow_nodes(ids: list[str]) -> list[WorkflowNode | None]:
        found = await workflow.load_many(ids)
        return [WorkflowNode.from_model(w) if w else None for w in found]

    # Workflows are immutable: caching them for a connection's life is safe. Instances
    # change; their loader only batches (a WebSocket context lives for many operations).
    return Loaders(
        workflow=workflow,
        instance=DataLoader(instances, cache=False),
        workflow_node=DataLoader(workflow_nodes),
    )


__all__ = ["build_loaders"]
