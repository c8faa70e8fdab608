"""Query root: each field parses its arguments, calls one engine service and wraps the result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from flowql.engine.errors import validation
from flowql.engine.models import InstanceStatus
from flowql.engine.pagination import ACCOUNT_EPOCH
from flowql.schema import (
    Account,
    Connection,
    Info,
    Instance,
    Node,
    Posting,
    ServerInfo,
    Trigger,
    Wallet,
    Workflow,
    connection_of,
    package_version,
    page_request,
)

from .nodes import MAX_NODES, resolve_nodes


@strawberry.type
class Query:
    @strawberry.field
    def server_info(self, info: Info) -> ServerInfo:
        return ServerInfo(version=package_version(), store=info.context.store_name)

    @strawberry.field(description="Any object by its global id; `null` when the id names nothing.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @strawberry.field(description=f"Objects by their global ids, in order (at most {MAX_NODES}).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise validation(f"ids: at most {MAX_NODES} ids", field="ids")
        return await resolve_nodes(info, ids)

    @strawberry.field
    async def workflow(self, info: Info, id: strawberry.ID) -> Workflow | None:
        return Workflow(model=await info.context.engine.orchestration.get_workflow(id))

    @strawberry.field(description="Workflows not deleted, newest first.")
    async def workflows(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Workflow]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.orchestration.list_workflows(request)
        return connection_of(page, lambda m: Workflow(model=m))

    @strawberry.field
    async def instance(self, info: Info, id: strawberry.ID) -> Instance | None:
        return Instance(model=await info.context.engine.orchestration.get_instance(id))

    @strawberry.field(
        description="Instances, newest first. Every filter given applies: `running` (on "
        "termination), `status` (any of), `createdAfter` / `createdBefore` (exclusive)."
    )
    async def instances(
        self,
        info: Info,
        workflow_id: Annotated[strawberry.ID | None, strawberry.argument(name="workflowID")] = None,
        running: bool | None = None,
        status: list[InstanceStatus] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Instance]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.orchestration.list_instances(
            request,
            workflow_id=workflow_id,
            running=running,
            statuses=status,
            created_after=created_after,
            created_before=created_before,
        )
        return connection_of(page, lambda m: Instance(model=m))

    @strawberry.field
    async def trigger(self, info: Info, id: strawberry.ID) -> Trigger | None:
        return Trigger(model=await info.context.engine.triggers.get_trigger(id))

    @strawberry.field(description="Triggers not deleted, newest first; `name` matches a substring.")
    async def triggers(
        self, info: Info, name: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Trigger]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.triggers.list_triggers(request, name=name)
        return connection_of(page, lambda m: Trigger(model=m))

    @strawberry.field(description="A ledger account; every address exists, empty until used.")
    async def account(self, info: Info, *, ledger: str = "default", address: str) -> Account:
        return Account(model=await info.context.engine.ledger.get_account(ledger, address))

    @strawberry.field(
        description="Accounts of a ledger with a balance or metadata, by address (ascending); "
        "`addressPrefix` keeps those starting with it."
    )
    async def accounts(
        self,
        info: Info,
        ledger: str = "default",
        address_prefix: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Account]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.ledger.list_accounts(
            request, ledger=ledger, address_prefix=address_prefix or ""
        )
        return connection_of(page, lambda m: Account(model=m), key=lambda m: (ACCOUNT_EPOCH, m.address))

    @strawberry.field(
        description="Postings of a ledger, newest first; `account` matches source or destination, "
        "`instanceID` the sends of one instance."
    )
    async def postings(
        self,
        info: Info,
        ledger: str = "default",
        account: str | None = None,
        instance_id: Annotated[strawberry.ID | None, strawberry.argument(name="instanceID")] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Posting]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.ledger.list_postings(
            request, ledger=ledger, account=account, instance_id=instance_id
        )
        return connection_of(page, lambda m: Posting(model=m), key=lambda m: (m.timestamp, m.reference))

    @strawberry.field
    async def wallet(self, info: Info, id: strawberry.ID) -> Wallet | None:
        return Wallet(model=await info.context.engine.ledger.get_wallet(id))

    @strawberry.field(description="Wallets of a ledger, newest first; `name` matches a substring.")
    async def wallets(
        self,
        info: Info,
        ledger: str = "default",
        name: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Wallet]:
        request = page_request(info.context.limits, first, after)
        page = await info.context.engine.ledger.list_wallets(request, ledger=ledger, name=name)
        return connection_of(page, lambda m: Wallet(model=m))


__all__ = ["Query"]
