"""Small builders of domain records for the contract tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowql.engine.models import (
    InboxEvent,
    Instance,
    InstanceStatus,
    Posting,
    StageStatus,
    Transition,
    Trigger,
    TriggerOccurrence,
    Workflow,
    WorkflowConfig,
    new_id,
)
from flowql.engine.stages import StageKind

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def workflow(seconds: float = 0, name: str = "wf") -> Workflow:
    return Workflow(
        id=new_id(),
        config=WorkflowConfig(name=name, stages=[{"delay": {"duration": "1s"}}]),
        created_at=at(seconds),
        updated_at=at(seconds),
    )


def instance(workflow_id: str, seconds: float = 0, **kw: object) -> Instance:
    return Instance(
        id=new_id(),
        workflow_id=workflow_id,
        created_at=at(seconds),
        updated_at=at(seconds),
        **kw,  # type: ignore[arg-type]
    )


def transition(inst: Instance, seq: int, status: StageStatus = StageStatus.RUNNING) -> Transition:
    return Transition(
        instance_id=inst.id,
        workflow_id=inst.workflow_id,
        seq=seq,
        stage=0,
        kind=StageKind.DELAY,
        status=status,
        instance_status=InstanceStatus.RUNNING,
        at=at(seq),
    )


def trigger(workflow_id: str, event: str = "payment.created", name: str = "t", seconds: float = 0) -> Trigger:
    return Trigger(id=new_id(), name=name, event=event, workflow_id=workflow_id, created_at=at(seconds))


def occurrence(trigger_id: str, seconds: float = 0, event_id: str | None = None) -> TriggerOccurrence:
    return TriggerOccurrence(
        id=new_id(), trigger_id=trigger_id, date=at(seconds), event={"n": seconds}, event_id=event_id
    )


def posting(reference: str, source: str, destination: str, amount: int, asset: str = "USD/2") -> Posting:
    return Posting(
        reference=reference,
        ledger="default",
        source=source,
        destination=destination,
        asset=asset,
        amount=amount,
        timestamp=BASE,
    )


def inbox_event(instance_id: str, name: str, seconds: float) -> InboxEvent:
    return InboxEvent(id=new_id(), instance_id=instance_id, name=name, received_at=at(seconds))
