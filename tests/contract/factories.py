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
    Wallet,
    Workflow,
    WorkflowConfig,
    new_id,
)
from flowql.engine.stages import StageKind

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def workflow(seconds: float = 0, name: str = "wf", *, ident: str | None = None) -> Workflow:
    return Workflow(
        id=ident or new_id(),
        config=WorkflowConfig(name=name, stages=[{"delay": {"duration": "1s"}}]),
        created_at=at(seconds),
        updated_at=at(seconds),
    )


def instance(workflow_id: str, seconds: float = 0, *, ident: str | None = None, **kw: object) -> Instance:
    return Instance(
        id=ident or new_id(),
        workflow_id=workflow_id,
        created_at=at(seconds),
        updated_at=at(seconds),
        **kw,  # type: ignore[arg-type]
    )


def transition(
    inst: Instance, seq: int, status: StageStatus = StageStatus.RUNNING, *, error: str | None = None
) -> Transition:
    return Transition(
        instance_id=inst.id,
        workflow_id=inst.workflow_id,
        seq=seq,
        stage=0,
        kind=StageKind.DELAY,
        status=status,
        instance_status=InstanceStatus.RUNNING,
        at=at(seq),
        error=error,
    )


def trigger(
    workflow_id: str,
    event: str = "payment.created",
    name: str | None = "t",
    seconds: float = 0,
    *,
    ident: str | None = None,
) -> Trigger:
    return Trigger(
        id=ident or new_id(), name=name, event=event, workflow_id=workflow_id, created_at=at(seconds)
    )


def occurrence(
    trigger_id: str, seconds: float = 0, event_id: str | None = None, *, ident: str | None = None
) -> TriggerOccurrence:
    return TriggerOccurrence(
        id=ident or new_id(), trigger_id=trigger_id, date=at(seconds), event={"n": seconds}, event_id=event_id
    )


def posting(
    reference: str,
    source: str,
    destination: str,
    amount: int,
    asset: str = "USD/2",
    *,
    ledger: str = "default",
) -> Posting:
    return Posting(
        reference=reference,
        ledger=ledger,
        source=source,
        destination=destination,
        asset=asset,
        amount=amount,
        timestamp=BASE,
    )


def inbox_event(instance_id: str, name: str, seconds: float, *, ident: str | None = None) -> InboxEvent:
    return InboxEvent(id=ident or new_id(), instance_id=instance_id, name=name, received_at=at(seconds))


def wallet(ident: str, name: str, ledger: str = "default") -> Wallet:
    return Wallet(id=ident, name=name, ledger=ledger, metadata={"owner": name}, created_at=BASE)
