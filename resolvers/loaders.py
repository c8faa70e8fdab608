"""DataLoaders, built per request (per connection for WebSockets) in `get_context`."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from flowql.engine.models import Account, Activity, Instance, Wallet, Workflow
from flowql.engine.runtime import Engine
from flowql.engine.services import StagePage
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
        return [WorkflowNode(model=w) if w else None for w in found]

    async def wallet_accounts(wallets: list[Wallet]) -> list[list[Account]]:
        return await engine.ledger.wallet_accounts(wallets)

    async def stage_histories(pages: list[StagePage]) -> list[list[Activity]]:
        return await orchestration.load_stage_histories(pages)

    # Workflows are immutable: caching them for a connection's life is safe. Instances and
    # balances change; their loaders only batch (a WebSocket context lives for many operations).
    return Loaders(
        workflow=workflow,
        instance=DataLoader(instances, cache=False),
        workflow_node=DataLoader(workflow_nodes),
        wallet_accounts=DataLoader(wallet_accounts, cache=False, cache_key_fn=lambda w: w.id),
        stage_history=DataLoader(stage_histories, cache=False),
    )


__all__ = ["build_loaders"]
