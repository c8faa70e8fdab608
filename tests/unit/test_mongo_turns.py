"""`Turns`: this process's writers of one MongoDB document take turns (storage/mongo/turns.py)."""

from __future__ import annotations

import asyncio

from flowql.storage.mongo.turns import Turns


async def test_writers_of_one_key_take_turns_and_other_keys_do_not_wait() -> None:
    turns = Turns()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    async def write(key: str) -> None:
        async with turns.of(key):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            await asyncio.sleep(0.001)
            inside[key] -= 1

    async with turns.of("b"):  # "a" goes on while "b" is held
        await asyncio.gather(*(write("a") for _ in range(20)))
    await asyncio.gather(*(write(k) for k in "ab" * 10))
    assert most == {"a": 1, "b": 1}
    assert len(turns) == 0  # nothing kept once nobody holds or waits


async def test_a_writer_that_fails_or_is_cancelled_gives_up_its_turn() -> None:
    turns = Turns()

    async def fail() -> None:
        async with turns.of("a"):
            raise RuntimeError("boom")

    async def hang() -> None:
        async with turns.of("a"):
            await asyncio.sleep(60)

    task = asyncio.create_task(hang())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(fail())
    await asyncio.sleep(0)
    task.cancel()
    results = await asyncio.gather(task, waiter, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError) and isinstance(results[1], RuntimeError)
    assert len(turns) == 0
