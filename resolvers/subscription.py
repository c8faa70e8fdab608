"""Subscription root: live stage transitions and instance snapshots.

`stageTransitions(instanceID)` replays what the store holds, then goes live, in order,
none missed and none twice, and ends when the instance terminates (the engine's
`watch_instance` heals a bus overflow by replaying the gap from the store).
`stageTransitions(workflowID)` is live only and never ends; a subscriber that falls more
than the bus queue behind is closed with a CONFLICT error saying so and resubscribes.

Each resolver declares its `Catchup` (what a subscriber joining its shared execution late
is sent first, flowql/fanout.py) before its first result.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from flowql.engine.bus import Overflow
from flowql.engine.errors import conflict, validation
from flowql.schema import Catchup, Info, Instance, StageTransition


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Transitions of one instance (stored ones first, ends at termination) "
        "or, live, of every instance of a workflow. Give exactly one argument."
    )
    async def stage_transitions(
        self,
        info: Info,
        instance_id: Annotated[strawberry.ID | None, strawberry.argument(name="instanceID")] = None,
        workflow_id: Annotated[strawberry.ID | None, strawberry.argument(name="workflowID")] = None,
    ) -> AsyncGenerator[StageTransition, None]:
        orchestration = info.context.engine.orchestration
        if (instance_id is None) == (workflow_id is None):
            raise validation("instanceID: give exactly one of instanceID or workflowID", field="instanceID")
        if instance_id is not None:
            info.context.catchup = Catchup.ALL  # the store's sequence, whenever one starts reading
            async for transition in orchestration.watch_instance(instance_id):
                yield StageTransition(model=transition)
            return
        assert workflow_id is not None
        info.context.catchup = Catchup.LIVE
        try:
            async for transition in orchestration.watch_workflow(workflow_id):
                yield StageTransition(model=transition)
        except Overflow as overflow:
            raise conflict(f"workflowID: {overflow}; subscription closed, subscribe again") from None

    @strawberry.subscription(
        description="Live, for list screens: an instance (of one workflow, or of every workflow) "
        "each time one is created or changes status. No replay; a subscriber more than 1,024 "
        "transitions behind is closed with CONFLICT and subscribes again."
    )
    async def instance_changes(
        self,
        info: Info,
        workflow_id: Annotated[strawberry.ID | None, strawberry.argument(name="workflowID")] = None,
    ) -> AsyncGenerator[Instance, None]:
        info.context.catchup = Catchup.LIVE  # no replay: a late subscriber shares what comes next
        try:
            async for instance in info.context.engine.orchestration.watch_instance_changes(workflow_id):
                yield Instance(model=instance)
        except Overflow as overflow:
            raise conflict(f"instanceChanges: {overflow}; subscription closed, subscribe again") from None

    @strawberry.subscription(
        description="The instance now, then again after each of its transitions; ends at termination."
    )
    async def instance_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Instance, None]:
        orchestration = info.context.engine.orchestration
        info.context.catchup = Catchup.LATEST
        instance = await orchestration.get_instance(id)
        yield Instance(model=instance)
        seen = instance.transition_count
        if instance.terminated:
            return
        async for transition in orchestration.watch_instance(id):
            if transition.seq > seen:
                # Write then publish: the store already holds this transition, maybe later ones.
                instance = await orchestration.get_instance(id)
                if instance.transition_count > seen:
                    seen = instance.transition_count
                    yield Instance(model=instance)
            if instance.terminated:
                return


__all__ = ["Subscription"]
