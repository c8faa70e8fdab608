"""The GraphQL executor without graphql-core's reference cycle per operation.

graphql-core 3.3's `Executor.__init__` stores `async_helpers`, a tuple of two bound methods
of the executor, on the executor itself: every operation leaves a cycle (executor ->
helpers -> bound method -> executor) holding the whole request (the context, its
DataLoaders, aiohttp's request and response; ~60 to 90 objects per HTTP request). Only
the cyclic collector frees it, so at 100 requests/s young collections of ~50,000 objects
ran every few seconds and paused the loop 40 to 190 ms each (tests/bench/fanout.py).

Here the helpers are built when asked for (each resolver's `info`) and never stored: the
operation is freed by reference counting the moment it ends. The helpers' methods only
use state the executor shares with its shallow copies (sub- and per-event executors), so
binding them to the executor at hand is what binding them to the root did.
"""

from __future__ import annotations

from typing import Any

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class AcyclicExecutionContext(StrawberryGraphQLCoreExecutionContext):
    @property
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        return GraphQLResolveInfoHelpers(gather=self.gather_async_work, track=self.track_async_work)

    @async_helpers.setter
    def async_helpers(self, _value: Any) -> None:
        """`Executor.__init__` assigns the stored helpers; they are not kept."""


__all__ = ["AcyclicExecutionContext"]
