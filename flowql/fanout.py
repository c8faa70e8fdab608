"""Shared subscription execution: one GraphQL execution per distinct subscription.

Subscribers whose document, operation name, variables and grant (authenticated, scopes)
are equal ask for the same bytes, so they share one `SharedExecution`: it subscribes to the
engine once (the resolver runs once), executes the selection set once per event, encodes
the `next` payload once and queues it in the `Pump` (fanout_pump.py) for the subscribers it
has at that moment: the pump frames it once per frame prefix (operation id and protocol's
message type; mostly one) and appends the same bytes to each subscriber's socket outbox
(`ws_outbox.Outbox`), in slices that yield to the loop. No delivery awaits a socket: a slow
one cannot hold up the others, its outbox closes it instead.

Joining late: a subscriber may join an execution that already sent results. What it is
sent first is the resolver's declaration (`Context.catchup`, see `schema.context.Catchup`):
every result so far (the stream replays from the store), the latest one (a snapshot
stream), or none (live only). A resolver that declares nothing is not joined once it has
produced a result: later subscribers get an execution of their own. The results kept for
catch-up are bounded (`MAX_CATCHUP`); past it the execution serves its subscribers on but
takes no new ones.

An execution ends when its stream ends (each subscriber then gets `complete`), when it
fails, or when its last subscriber leaves (the resolver's generator is closed, which
unsubscribes it from the bus). A document refused before execution (validation, unknown
operation) is answered by Strawberry's own per-operation path, as before.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry import Schema
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from flowql.schema import Catchup, Context

from .fanout_pump import DEFAULT_LINGER, Pump
from .ws_outbox import Outbox

log = logging.getLogger(__name__)

MAX_CATCHUP = 1024
"""Results an execution keeps for subscribers joining late (Catchup.ALL)."""
_KIND_CACHE = 512


class Outcome(enum.Enum):
    COMPLETED = "completed"
    """The stream ended (or failed, which is logged): send `complete`."""
    REFUSED = "refused"
    """Refused before execution: run the operation on Strawberry's own path for its error."""


@dataclass(eq=False, slots=True)
class Member:
    outbox: Outbox
    prefix: bytes
    """The frame up to the payload: `{"id":"1","type":"next","payload":` (or graphql-ws `data`)."""
    done: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    gone: bool = False
    """Left its execution: deliveries still queued in the pump skip it."""

    def send(self, payload: bytes) -> None:
        self.outbox.send(self.prefix + payload + b"}")


Key = tuple[str, str | None, str, Hashable]


def grant_key(context: Context) -> Hashable:
    """What of a context decides what an operation may see: the caller's grant. The token
    itself is not part of it (per-token limits count subscribers, not executions)."""
    return (context.authenticated, context.scopes)


class SharedExecution:
    def __init__(
        self, fanout: Multiplexer, key: Key, context: Context, variables: dict[str, object] | None
    ) -> None:
        self.key = key
        self.context = context
        self.members: dict[Member, None] = {}
        self.sent: list[bytes] = []
        """What a late joiner is sent first: every result so far (Catchup.ALL), the latest
        (Catchup.LATEST) or nothing."""
        self._fanout = fanout
        self._variables = variables
        self._joined = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    def join(self, member: Member) -> None:
        for payload in self.sent:
            member.send(payload)
        self.members[member] = None
        self._joined += 1  # the pump may no longer add results to a delivery queued before

    def leave(self, member: Member) -> None:
        member.gone = True
        self.members.pop(member, None)
        if not self.members and not self.task.done():
            self._fanout.forget(self)
            self.task.cancel()

    async def _run(self) -> None:
        outcome = Outcome.COMPLETED
        query, operation_name = self.key[0], self.key[1]
        pump = self._fanout.pump
        try:
            source = await self._fanout.schema.subscribe(
                query,
                variable_values=self._variables,
                context_value=self.context,
                operation_name=operation_name,
            )
            async with aclosing(source):
                async for result in source:
                    if isinstance(result, PreExecutionError):
                        outcome = Outcome.REFUSED
                        break
                    self._deliver(self._fanout.encode(result))
                    await pump.room()
        except GraphQLError:
            # Raised by a validation hook (resolvers/budget.py), not yielded: refused before
            # execution all the same, so Strawberry's own path answers with the coded error.
            outcome = Outcome.REFUSED
        except Exception:
            log.exception("shared subscription execution failed", extra={"operation": operation_name})
        finally:
            self._fanout.ended(self)
            pump.after(lambda: self._settle(outcome))  # after the `next` frames still queued

    def _settle(self, outcome: Outcome) -> None:
        for member in self.members:
            if not member.done.done():
                member.done.set_result(outcome)

    def _deliver(self, payload: bytes) -> None:
        self._fanout.pump.deliver(tuple(self.members), payload, (self, self._joined))
        catchup = self.context.catchup
        if catchup is Catchup.ALL and len(self.sent) < MAX_CATCHUP:
            self.sent.append(payload)
        elif catchup is Catchup.LATEST:
            self.sent[:] = [payload]
        elif catchup is not Catchup.LIVE:
            self.sent.clear()
            self._fanout.forget(self)  # no (more) catch-up: later subscribers start afresh


class Multiplexer:
    """The open shared executions by key; `subscribe` joins or starts one."""

    def __init__(
        self,
        schema: Schema,
        make_context: Callable[[Context], Context],
        encode_json: Callable[[object], str | bytes],
        *,
        linger: float = DEFAULT_LINGER,
    ) -> None:
        self.schema = schema
        self._make_context = make_context
        self._encode_json = encode_json
        self._open: dict[Key, SharedExecution] = {}
        """Executions new subscribers may join."""
        self._running: set[SharedExecution] = set()
        self._kinds: dict[tuple[str, str | None], bool] = {}
        self.pump = Pump(linger=linger)

    @property
    def executions(self) -> int:
        return len(self._running)

    @property
    def subscribers(self) -> int:
        return sum(len(e.members) for e in self._running)

    def shareable(self, query: str, operation_name: str | None) -> bool:
        """Whether the document's operation is a subscription (else: Strawberry's path)."""
        kind = self._kinds.get((query, operation_name))
        if kind is None:
            try:
                operation = get_operation_ast(parse(query, no_location=True), operation_name)
            except GraphQLError:
                operation = None
            kind = operation is not None and operation.operation is OperationType.SUBSCRIPTION
            if len(self._kinds) >= _KIND_CACHE:
                self._kinds.clear()
            self._kinds[(query, operation_name)] = kind
        return kind

    def subscribe(
        self,
        context: Context,
        member: Member,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> SharedExecution:
        key: Key = (query, operation_name, json.dumps(variables, sort_keys=True), grant_key(context))
        execution = self._open.get(key)
        if execution is None:
            execution = SharedExecution(self, key, self._make_context(context), variables)
            self._open[key] = execution
            self._running.add(execution)
        execution.join(member)
        return execution

    def forget(self, execution: SharedExecution) -> None:
        """No new subscribers for `execution` (it ended, or can no longer catch them up)."""
        if self._open.get(execution.key) is execution:
            del self._open[execution.key]

    def ended(self, execution: SharedExecution) -> None:
        self.forget(execution)
        self._running.discard(execution)

    def encode(self, result: ExecutionResult) -> bytes:
        """A `next` payload, encoded once for every subscriber (Strawberry's shape, the
        view's JSON with its response cap)."""
        payload: dict[str, object] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        encoded = self._encode_json(payload)
        return encoded if isinstance(encoded, bytes) else encoded.encode()


__all__ = ["MAX_CATCHUP", "Member", "Multiplexer", "Outcome", "SharedExecution", "grant_key"]
