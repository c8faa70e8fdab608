"""Query root: each field parses its arguments, calls one engine service and maps the result."""

from __future__ import annotations

from typing import Annotated

import strawberry

from flowql.schema import (
    Account,
    Connection,
    Info,
    Instance,
    ServerInfo,
    Trigger,
    Wallet,
    Workflow,
    connection_of,
    package_version,
    page_request,
)


@strawberry.type
class Query:
    @strawberry.field
    def server_info(self, info: Info) -> ServerInfo:
        return ServerInfo(version=package_version(), store=info.context.store_name)

    @strawberry.field
    async def workflow(self, info: Info, id: strawberry.ID) -> Workflow | None:
        return Workflow.from_model(await info.context.engine.orchestration.get_workflow(id))

    @strawberry.field(description="Workflows not deleted, newest first.")
    async def workflows(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Workflow]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.orchestration.list_workflows(request)
        return connection_of(page, Workflow.from_model)

    @strawberry.field
    async def instance(self, info: Info, id: strawberry.ID) -> Instance | None:
        return Instance.from_model(await info.context.engine.orchestration.get_instance(id))

    @strawberry.field(description="Instances, newest first; `running` filters on termination.")
    async def instances(
        self,
        info: Info,
        workflow_id: Annotated[str | None, strawberry.argument(name="workflowID")] = None,
        running: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Instance]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.orchestration.list_instances(
            request, workflow_id=workflow_id, running=running
        )
        return connection_of(page, Instance.from_model)

    @strawberry.field
    async def trigger(self, info: Info, id: strawberry.ID) -> Trigger | None:
        return Trigger.from_model(await info.context.engine.triggers.get_trigger(id))

    @strawberry.field(description="Triggers not deleted, newest first; `name` matches a substring.")
    async def triggers(
        self, info: Info, name: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Trigger]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.triggers.list_triggers(request, name=name)
        return connection_of(page, Trigger.from_model)

    @strawberry.field(description="A ledger account; every address exists, empty until used.")
    async def account(self, info: Info, *, ledger: str = "default", address: str) -> Account:
        return Account.from_model(await info.context.engine.ledger.get_account(ledger, address))

    @strawberry.field
    async def wallet(self, info: Info, id: strawberry.ID) -> Wallet | None:
        return Wallet.from_model(await info.context.engine.ledger.get_wallet(id))


__all__ = ["Query"]
