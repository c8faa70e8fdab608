"""Formance's orchestration events (`pkg/events/events.go`) derived from stage transitions.

Every event Formance publishes for an instance is a consequence of a stored transition: the
first stage starting is STARTED_WORKFLOW then STARTED_WORKFLOW_STAGE, a stage succeeding is
SUCCEEDED_WORKFLOW_STAGE (and SUCCEEDED_WORKFLOW with the last one), a stage failing or
being cancelled is FAILED_WORKFLOW_STAGE then FAILED_WORKFLOW (Formance reports a cancel as
a failure with the error `canceled`). So the transitions are the outbox: an event is
published from what was committed, and its id (`{instance}:{seq}:{type}`) is the same on
every attempt, which makes republishing after a crash harmless (`Nats-Msg-Id`). A trigger
occurrence is SUCCEEDED_TRIGGER (it started an instance) or FAILED_TRIGGER (its error).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .clock import to_iso
from .models import InstanceStatus, StageStatus, Transition, TriggerOccurrence

APP = "orchestration"
VERSION = "v2"
SUBJECT = "orchestration"

STARTED_WORKFLOW = "STARTED_WORKFLOW"
STARTED_WORKFLOW_STAGE = "STARTED_WORKFLOW_STAGE"
SUCCEEDED_WORKFLOW_STAGE = "SUCCEEDED_WORKFLOW_STAGE"
FAILED_WORKFLOW_STAGE = "FAILED_WORKFLOW_STAGE"
SUCCEEDED_WORKFLOW = "SUCCEEDED_WORKFLOW"
FAILED_WORKFLOW = "FAILED_WORKFLOW"
SUCCEEDED_TRIGGER = "SUCCEEDED_TRIGGER"
FAILED_TRIGGER = "FAILED_TRIGGER"


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One EventMessage `{date, app, version, type, payload}` and its idempotency key."""

    id: str
    type: str
    date: str
    payload: dict[str, Any]

    def message(self) -> dict[str, Any]:
        return {"date": self.date, "app": APP, "version": VERSION, "type": self.type, "payload": self.payload}

    def body(self) -> bytes:
        return json.dumps(self.message(), separators=(",", ":")).encode()


def trigger_event(occurrence: TriggerOccurrence) -> OutgoingEvent:
    """SUCCEEDED_TRIGGER or FAILED_TRIGGER for one stored occurrence."""
    base = {"id": occurrence.id, "triggerID": occurrence.trigger_id}
    if occurrence.error is None and occurrence.workflow_instance_id is not None:
        kind, payload = SUCCEEDED_TRIGGER, base | {"workflowInstanceID": occurrence.workflow_instance_id}
    else:
        kind, payload = FAILED_TRIGGER, base | {"error": occurrence.error or "failed"}
    return OutgoingEvent(f"occurrence:{occurrence.id}:{kind}", kind, to_iso(occurrence.date), payload)


def events_of(transitions: Iterable[Transition]) -> Iterator[OutgoingEvent]:
    """The Formance events the given transitions stand for, in order."""
    for t in transitions:
        base = {"id": t.workflow_id, "instanceID": t.instance_id}
        stage = base | {"number": t.stage}
        error = t.error or ("canceled" if t.instance_status is InstanceStatus.CANCELLED else "")

        def event(kind: str, payload: dict[str, Any], t: Transition = t) -> OutgoingEvent:
            return OutgoingEvent(f"{t.instance_id}:{t.seq}:{kind}", kind, to_iso(t.at), payload)

        if t.status is StageStatus.RUNNING:
            if t.seq == 1:
                yield event(STARTED_WORKFLOW, base)
            yield event(STARTED_WORKFLOW_STAGE, stage)
        elif t.status is StageStatus.SUCCEEDED and t.instance_status in (
            InstanceStatus.RUNNING,
            InstanceStatus.SUCCEEDED,
        ):
            yield event(SUCCEEDED_WORKFLOW_STAGE, stage)
        elif t.status in (StageStatus.FAILED, StageStatus.CANCELLED):
            yield event(FAILED_WORKFLOW_STAGE, stage | {"error": error or "failed"})
        if t.instance_status is InstanceStatus.SUCCEEDED:
            yield event(SUCCEEDED_WORKFLOW, base)
        elif t.instance_status in (InstanceStatus.FAILED, InstanceStatus.CANCELLED):
            yield event(FAILED_WORKFLOW, base | {"error": error or "failed"})


__all__ = ["SUBJECT", "OutgoingEvent", "events_of", "trigger_event"]
