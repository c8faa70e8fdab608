"""The fan-out pump: results framed once per prefix, written in slices that let the loop
run in between, in order per socket, an execution's end after its last result, departed
subscribers skipped, and a bounded backlog."""

from __future__ import annotations

import asyncio

from flowql.fanout import Member, Outcome
from flowql.fanout_pump import Pump
from flowql.ws_outbox import Outbox, text_frame

from .test_ws_outbox import Socket, Transport, Woken, parse_frames

PREFIX = b'{"id":"1","type":"next","payload":'


def members(count: int, prefix: bytes = PREFIX) -> tuple[list[Member], list[Transport]]:
    transports = [Transport() for _ in range(count)]
    out = [Member(Outbox(Socket(), t, Woken()), prefix) for t in transports]  # type: ignore[arg-type]
    return out, transports


def received(transport: Transport) -> list[bytes]:
    return [frame for write in transport.writes for frame in parse_frames(write)]


async def test_one_frame_per_prefix_shared_by_every_socket() -> None:
    ones, transports = members(3)
    twos, others = members(2, b'{"id":"2","type":"data","payload":')
    Pump().deliver([*ones, *twos], b'{"data":1}')
    frames = [t.writes[0] for t in transports + others]
    assert frames[0] == text_frame(PREFIX + b'{"data":1}}')
    assert frames[0] is frames[1] is frames[2]  # the very same bytes object
    assert frames[3] is frames[4] and frames[3] != frames[0]


async def test_slices_yield_to_the_loop_and_keep_the_order() -> None:
    subscribers, transports = members(10)
    pump = Pump(slice_size=4)
    pump.deliver(subscribers, b"1")
    pump.deliver(subscribers, b"2")
    assert [len(t.writes) for t in transports] == [1] * 4 + [0] * 6  # the first slice at once
    ran_between: list[int] = []
    written = lambda: sum(len(t.writes) for t in transports)  # noqa: E731
    asyncio.get_running_loop().call_soon(lambda: ran_between.append(written()))
    for _ in range(10):
        await asyncio.sleep(0)
    assert ran_between and ran_between[0] < 20  # other callbacks ran before the fan-out ended
    for transport in transports:
        assert received(transport) == [PREFIX + b"1}", PREFIX + b"2}"]
    assert pump.backlog == 0


async def test_one_write_per_socket_and_slice() -> None:
    subscribers, transports = members(2)
    pump = Pump(slice_size=100)
    pump.after(lambda: None)  # something queued ahead: the deliveries wait for the next turn
    for n in range(3):
        pump.deliver(subscribers, str(n).encode())
    await asyncio.sleep(0)
    assert [len(t.writes) for t in transports] == [1, 1]
    assert received(transports[0]) == [PREFIX + b"0}", PREFIX + b"1}", PREFIX + b"2}"]


async def test_the_end_comes_after_the_queued_results() -> None:
    subscribers, transports = members(6)
    pump = Pump(slice_size=2)
    pump.deliver(subscribers, b"last")
    seen: list[int] = []
    pump.after(lambda: seen.append(sum(len(t.writes) for t in transports)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == [6]


async def test_a_departed_subscriber_is_skipped() -> None:
    subscribers, transports = members(4)
    pump = Pump(slice_size=2)
    pump.deliver(subscribers, b"x")
    subscribers[3].gone = True
    await asyncio.sleep(0)
    assert [len(t.writes) for t in transports] == [1, 1, 1, 0]


async def test_the_backlog_is_bounded() -> None:
    subscribers, _ = members(8)
    pump = Pump(slice_size=2, limit=4)
    pump.after(lambda: None)
    pump.deliver(subscribers, b"x")
    assert pump.backlog == 8
    waiter = asyncio.ensure_future(pump.room())
    await asyncio.sleep(0)
    assert not waiter.done()
    for _ in range(4):
        await asyncio.sleep(0)
    assert waiter.done() and pump.backlog <= 4


async def test_members_settle_with_an_outcome() -> None:
    [member], _ = members(1)
    pump = Pump()
    pump.after(lambda: member.done.set_result(Outcome.COMPLETED))
    assert await asyncio.wait_for(member.done, 1) is Outcome.COMPLETED


async def test_a_result_queued_behind_its_predecessor_shares_its_writes() -> None:
    subscribers, transports = members(6)
    pump = Pump(slice_size=2)
    pump.deliver(subscribers, b"1", "group")  # the first two written at once
    pump.deliver(subscribers, b"2", "group")
    for _ in range(6):
        await asyncio.sleep(0)
    for n, transport in enumerate(transports):
        assert received(transport) == [PREFIX + b"1}", PREFIX + b"2}"]
        assert len(transport.writes) == (2 if n < 2 else 1)
    assert pump.backlog == 0


async def test_results_for_other_subscribers_are_not_merged() -> None:
    subscribers, transports = members(4)
    pump = Pump(slice_size=2)
    pump.deliver(subscribers, b"1", ("execution", 1))
    pump.deliver(subscribers[:3], b"2", ("execution", 2))  # one joined or left in between
    for _ in range(6):
        await asyncio.sleep(0)
    assert [len(received(t)) for t in transports] == [2, 2, 2, 1]
    assert received(transports[2]) == [PREFIX + b"1}", PREFIX + b"2}"]


async def test_a_large_delivery_lingers_for_the_next_result() -> None:
    subscribers, transports = members(8)
    pump = Pump(slice_size=4, linger=0.05, linger_from=8)
    pump.deliver(subscribers, b"1", "group")
    await asyncio.sleep(0)
    assert all(not t.writes for t in transports)  # waiting for its execution's next result
    pump.deliver(subscribers, b"2", "group")
    pump.deliver(subscribers[:7], b"3", "other")  # not its group: after it, written apart
    await asyncio.sleep(0.1)
    for n, transport in enumerate(transports):
        assert len(transport.writes) == (2 if n < 7 else 1)
        assert parse_frames(transport.writes[0]) == [PREFIX + b"1}", PREFIX + b"2}"]
    assert received(transports[0])[-1] == PREFIX + b"3}"
    assert pump.backlog == 0


async def test_a_small_delivery_does_not_linger() -> None:
    subscribers, transports = members(3)
    Pump(linger=10.0, linger_from=4).deliver(subscribers, b"1", "group")
    assert [len(t.writes) for t in transports] == [1, 1, 1]
