from __future__ import annotations

import pytest

from flowql.engine.bus import ALL, EventBus, Overflow
from flowql.engine.clock import utc_now
from flowql.engine.models import InstanceStatus, StageStatus, Transition
from flowql.engine.stages import StageKind


def transition(seq: int, instance: str = "i1", workflow: str = "w1") -> Transition:
    return Transition(
        instance_id=instance,
        workflow_id=workflow,
        seq=seq,
        stage=0,
        kind=StageKind.DELAY,
        status=StageStatus.RUNNING,
        instance_status=InstanceStatus.RUNNING,
        at=utc_now(),
    )


async def test_topics_route_by_instance_workflow_and_all() -> None:
    bus = EventBus()
    by_instance, by_workflow, everything = bus.subscribe("i1"), bus.subscribe("w2"), bus.subscribe(ALL)
    bus.publish(transition(1, "i1", "w1"))
    bus.publish(transition(1, "i2", "w2"))
    assert (await by_instance.get(1)).instance_id == "i1"
    assert (await by_workflow.get(1)).instance_id == "i2"
    assert [(await everything.get(1)).instance_id for _ in range(2)] == ["i1", "i2"]
    assert by_instance.queue.empty() and by_workflow.queue.empty()


async def test_slow_subscriber_is_cut_off_with_overflow_and_never_blocks_publish() -> None:
    bus = EventBus(queue_size=4)
    slow = bus.subscribe("i1")
    for seq in range(1, 10):
        bus.publish(transition(seq))
    assert bus.subscription_count == 0
    assert bus.overflows == 1
    received = [(await slow.get(1)).seq for _ in range(3)]
    assert received == [1, 2, 3]
    with pytest.raises(Overflow):
        await slow.get(1)


async def test_listeners_see_every_transition() -> None:
    bus = EventBus()
    seen: list[int] = []
    bus.add_listener(lambda t: seen.append(t.seq))
    for seq in (1, 2, 3):
        bus.publish(transition(seq))
    assert seen == [1, 2, 3]
