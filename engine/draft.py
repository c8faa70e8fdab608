"""A working copy of an instance: the changes one executor step makes before it commits."""

from __future__ import annotations

from datetime import datetime

from .clock import utc_now
from .models import Activity, HistoryEntry, Instance, InstanceStatus, StageState, StageStatus, Transition
from .stages import StageKind

_FINAL_STAGE_STATUS = {
    InstanceStatus.SUCCEEDED: StageStatus.SUCCEEDED,
    InstanceStatus.FAILED: StageStatus.FAILED,
    InstanceStatus.CANCELLED: StageStatus.CANCELLED,
}


CANCELED = "canceled"
ACTIVITY_CANCELLED = "cancelled"


class Draft:
    """Takes ownership of `instance` and changes it in place: callers load or receive a fresh
    instance for each draft and drop it if the commit fails (no defensive deep copy: it cost
    more than the rest of a step)."""

    def __init__(self, instance: Instance) -> None:
        self.base_version = instance.version
        self.instance = instance
        self.transitions: list[Transition] = []
        self.history: list[HistoryEntry] = []
        """Activities ended in this step, stored with the commit."""
        self.touched = False

    @property
    def changed(self) -> bool:
        return self.touched or bool(self.transitions) or bool(self.history)

    @property
    def stage(self) -> StageState:
        current = self.instance.current
        assert current is not None, "no stage started"
        return current

    def now(self) -> datetime:
        return utc_now()

    def start_stage(self, index: int, kind: StageKind) -> StageState:
        state = StageState(stage=index, kind=kind, status=StageStatus.RUNNING, started_at=self.now())
        self.instance.stages.append(state)
        self._record(state)
        return state

    def set_status(self, status: StageStatus, *, error: str | None = None) -> None:
        state = self.stage
        state.status = status
        if status.terminal:
            state.terminated_at = self.now()
            state.error = error
            self.instance.wake_at = None
            self.instance.waiting_for = None
        self._record(state)

    def finish(self, status: InstanceStatus, *, error: str | None = None) -> None:
        """Terminate the instance; a stage still open takes the matching final status.

        A cancel carries Formance's error text: the instance and its open stage `canceled`
        (Temporal's CanceledError), an activity waiting for its next attempt `cancelled`
        (what Formance's stage history says of a cancelled activity task)."""
        current = self.instance.current
        if status is InstanceStatus.CANCELLED:
            error = error or CANCELED
            if current is not None and current.pending is not None:
                ended = {"terminated": True, "terminated_at": self.now(), "next_execution": None}
                self.add_activity(current.pending.model_copy(update=ended | {"error": ACTIVITY_CANCELLED}))
        if current is not None and not current.terminated:
            self.instance.status = status  # so the stage transition carries the final status
            self.set_status(_FINAL_STAGE_STATUS[status], error=error)
        now = self.now()
        self.instance.status = status
        self.instance.error = error
        self.instance.terminated_at = now
        self.instance.wake_at = None
        self.instance.waiting_for = None
        if self.transitions:
            self.transitions[-1] = self.transitions[-1].model_copy(update={"instance_status": status})
        elif current is not None:
            self._record(current)  # every termination is announced by a transition
        self.touched = True

    def add_activity(self, activity: Activity) -> None:
        """An ended activity joins the stage's stored history; one not ended becomes its
        pending activity (replacing the previous attempt's)."""
        stage = self.stage
        self.touched = True
        if not activity.terminated:
            stage.pending = activity
            return
        stage.pending = None
        stage.history_count += 1
        if activity.error is None:
            stage.succeeded += 1
        entry = HistoryEntry(
            instance_id=self.instance.id, stage=stage.stage, n=stage.history_count, activity=activity
        )
        self.history.append(entry)

    def add_failure(self, activity: Activity) -> None:
        """An ended entry that leaves the pending activity pending (a driver failure)."""
        pending = self.stage.pending
        self.add_activity(activity)
        self.stage.pending = pending

    def set_wake(self, at: datetime | None) -> None:
        self.instance.wake_at = at
        self.touched = True

    def _record(self, state: StageState) -> None:
        self.instance.transition_count += 1
        self.transitions.append(
            Transition(
                instance_id=self.instance.id,
                workflow_id=self.instance.workflow_id,
                seq=self.instance.transition_count,
                stage=state.stage,
                kind=state.kind,
                status=state.status,
                instance_status=self.instance.status,
                at=self.now(),
                error=state.error,
            )
        )

    def ready_to_save(self) -> Instance:
        self.instance.updated_at = self.now()
        return self.instance
