"""A bare Strawberry + aiohttp server: the baseline `tests/bench/fanout.py` compares with.

Nothing of flowql: Strawberry's own `GraphQLView` (both WebSocket protocols, its defaults)
and a ticker. `mutation { tick(count: 2) }` publishes `count` ticks (and answers their `seq`s) to every open
`subscription { ticks { ... } }`; each subscriber has its own unbounded queue and Strawberry
executes the selection set once per subscriber per tick, as any Strawberry app does. A tick
has the fields and value shapes of a flowql `StageTransition` so both payloads weigh about
the same; `at` is the publish time, RFC 3339 UTC with milliseconds, like flowql's commit time.

    python tests/bench/bare_ticker.py --port 8081
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import strawberry
from aiohttp import web
from strawberry.aiohttp.views import GraphQLView

_queues: set[asyncio.Queue[Tick]] = set()
_seq = itertools.count(1)


@strawberry.type
class Tick:
    instance_id: str = strawberry.field(name="instanceID")
    seq: int
    stage: int
    status: str
    instance_status: str = strawberry.field(name="instanceStatus")
    at: str


@strawberry.type
class Query:
    @strawberry.field
    def subscribers(self) -> int:
        return len(_queues)


@strawberry.type
class Mutation:
    @strawberry.mutation
    def tick(self, count: int = 1) -> list[int]:
        seqs = []
        for _ in range(count):
            now = datetime.now(UTC)
            at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
            tick = Tick(
                instance_id="0190c1d2-0000-7000-8000-000000000000",
                seq=next(_seq),
                stage=0,
                status="SUCCEEDED",
                instance_status="RUNNING",
                at=at,
            )
            for queue in _queues:
                queue.put_nowait(tick)
            seqs.append(tick.seq)
        return seqs


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[Tick, None]:
        queue: asyncio.Queue[Tick] = asyncio.Queue()
        _queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            _queues.discard(queue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    schema = strawberry.Schema(Query, Mutation, Subscription)
    app = web.Application()
    app.router.add_route("*", "/graphql", GraphQLView(schema=schema))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
