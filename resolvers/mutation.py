"""Mutation root: parse, call one engine service, map."""

from __future__ import annotations

from typing import Annotated

import pydantic
import strawberry
from strawberry.scalars import JSON

from flowql.engine.models import EventMessage
from flowql.engine.stages import from_pydantic
from flowql.schema import (
    CreateTriggerInput,
    CreateWorkflowInput,
    Info,
    Instance,
    Trigger,
    TriggerOccurrence,
    TriggerTest,
    Wallet,
    Workflow,
)
from flowql.schema.stage_input import raw_stage

from .args import json_object, string_map


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_workflow(self, info: Info, input: CreateWorkflowInput) -> Workflow:
        workflow = await info.context.engine.orchestration.create_workflow(
            name=input.name,
            stages=[raw_stage(stage) for stage in input.stages],
            retry=None if input.retry is None else {"maxAttempts": input.retry.max_attempts},
        )
        return Workflow(model=workflow)

    @strawberry.mutation(description="Soft delete: hidden from lists, refuses new runs; runs go on.")
    async def delete_workflow(self, info: Info, id: strawberry.ID) -> Workflow:
        return Workflow(model=await info.context.engine.orchestration.delete_workflow(id))

    @strawberry.mutation(
        description="Start an instance. With `wait`, return once it terminates (bounded by the "
        "server's run timeout), else at once with the RUNNING instance."
    )
    async def run_workflow(
        self,
        info: Info,
        workflow_id: Annotated[strawberry.ID, strawberry.argument(name="workflowID")],
        variables: JSON | None = None,
        wait: bool = False,
    ) -> Instance:
        instance = await info.context.engine.orchestration.run_workflow(
            workflow_id,
            json_object(variables, field="variables"),
            wait=wait,
            timeout=info.context.limits.run_wait_timeout,
        )
        return Instance(model=instance)

    @strawberry.mutation(
        description="Send an event to an instance's inbox. When a wait_event stage waits for that "
        "name, the answer is the instance once it took the event; otherwise the event stays "
        "queued for a later stage and the instance is returned as it is."
    )
    async def send_event(
        self,
        info: Info,
        instance_id: Annotated[strawberry.ID, strawberry.argument(name="instanceID")],
        name: str,
    ) -> Instance:
        return Instance(model=await info.context.engine.orchestration.send_event(instance_id, name))

    @strawberry.mutation(description="Cancel a running instance; a second cancel is a no-op.")
    async def cancel_instance(self, info: Info, id: strawberry.ID) -> Instance:
        return Instance(model=await info.context.engine.orchestration.cancel_instance(id))

    @strawberry.mutation
    async def create_trigger(self, info: Info, input: CreateTriggerInput) -> Trigger:
        trigger = await info.context.engine.triggers.create_trigger(
            name=input.name,
            event=input.event,
            workflow_id=input.workflow_id,
            version=input.version,
            filter=input.filter,
            vars=string_map(input.vars, field="input.vars"),
        )
        return Trigger(model=trigger)

    @strawberry.mutation(description="Soft delete: the trigger starts nothing more; its occurrences stay.")
    async def delete_trigger(self, info: Info, id: strawberry.ID) -> Trigger:
        return Trigger(model=await info.context.engine.triggers.delete_trigger(id))

    @strawberry.mutation(description="Evaluate a trigger's filter and vars on a payload; starts nothing.")
    async def test_trigger(self, info: Info, id: strawberry.ID, event: JSON) -> TriggerTest:
        result = await info.context.engine.triggers.test_trigger(id, json_object(event, field="event"))
        return TriggerTest(model=result)

    @strawberry.mutation(description="Publish an event: every matching trigger runs its workflow.")
    async def publish_event(
        self, info: Info, type: str, payload: JSON | None = None, version: str | None = None
    ) -> list[TriggerOccurrence]:
        try:
            event = EventMessage(type=type, version=version, payload=json_object(payload, field="payload"))
        except pydantic.ValidationError as error:
            raise from_pydantic(error, prefix="") from None
        occurrences = await info.context.engine.triggers.publish(event)
        return [TriggerOccurrence(model=o) for o in occurrences]

    @strawberry.mutation(description="Create a wallet (a set of accounts `wallets:{id}:{balance}`).")
    async def create_wallet(
        self, info: Info, name: str, ledger: str = "default", metadata: JSON | None = None
    ) -> Wallet:
        wallet = await info.context.engine.ledger.create_wallet(
            name, ledger, string_map(metadata, field="metadata")
        )
        return Wallet(model=wallet)


__all__ = ["Mutation"]
