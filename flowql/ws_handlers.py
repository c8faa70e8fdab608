"""Strawberry's two WebSocket protocol handlers, with subscriptions run shared.

Everything about the protocols stays Strawberry's (init, ack, ping, ids, limits, errors
before execution, queries and mutations over graphql-transport-ws). Only the step that
runs a subscription and sends its results is replaced: the operation joins the
`Multiplexer`'s shared execution for its key, which writes the `next` (graphql-ws: `data`)
frames straight to this socket's outbox; the operation's task just waits for the end and
then sends `complete` as Strawberry would. A subscription refused before execution runs on
Strawberry's own path, so its error reads exactly as before. Each subscriber holds one of
the view's subscription slots while it follows (`--max-subscriptions` in total and
`--max-subscriptions-per-token`: they count subscribers, not shared executions); one over
a bound gets an UNAVAILABLE error and nothing runs for it.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import CompleteMessage, ErrorMessage

from flowql.engine.errors import FlowqlError
from flowql.schema import Context

from .fanout import Member, Outcome
from .ws_messages import CheckedWebSocketAdapter

if TYPE_CHECKING:
    from .view import FlowqlView


def _prefix(id: str, kind: str) -> bytes:
    # Both protocols' result message, up to its payload; the payload and "}" follow.
    return f'{{"id":{json.dumps(id)},"type":"{kind}","payload":'.encode()


async def _follow(
    handler: SharedTransportWSHandler | SharedGraphQLWSHandler,
    member: Member,
    query: str,
    operation_name: str | None,
    variables: dict[str, object] | None,
) -> Outcome:
    view: FlowqlView = handler.view  # type: ignore[assignment]
    execution = view.fanout.subscribe(handler.context, member, query, operation_name, variables)
    try:
        return await member.done
    finally:
        execution.leave(member)


def _slot(handler: SharedTransportWSHandler | SharedGraphQLWSHandler) -> AbstractContextManager[None]:
    """Raises FlowqlError(UNAVAILABLE) when the subscriber is over a bound."""
    view: FlowqlView = handler.view  # type: ignore[assignment]
    slot = view.subscription_slots.hold(handler.context.token)
    slot.__enter__()
    return slot


def _refusal(error: FlowqlError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code.value})


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view: FlowqlView = self.view  # type: ignore[assignment]
        if not view.fanout.shareable(operation.query, operation.operation_name):
            await super().run_operation(operation)
            return
        assert isinstance(self.websocket, CheckedWebSocketAdapter)
        try:
            slot = _slot(self)
        except FlowqlError as error:
            await operation.send_initial_errors([_refusal(error)])
            return
        member = Member(self.websocket.outbox, _prefix(operation.id, "next"))
        try:
            outcome = await _follow(
                self, member, operation.query, operation.operation_name, operation.variables
            )
        finally:
            slot.__exit__(None, None, None)
        if outcome is Outcome.REFUSED:
            await super().run_operation(operation)
            return
        await operation.send_operation_message({"id": operation.id, "type": "complete"})


class SharedGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        view: FlowqlView = self.view  # type: ignore[assignment]
        if not view.fanout.shareable(query, operation_name):
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        assert isinstance(self.websocket, CheckedWebSocketAdapter)
        try:
            slot = _slot(self)
        except FlowqlError as error:
            payload = _refusal(error).formatted
            await self.send_message(ErrorMessage(type="error", id=operation_id, payload=payload))
            self.tasks.pop(operation_id, None)
            return
        member = Member(self.websocket.outbox, _prefix(operation_id, "data"))
        try:
            outcome = await _follow(self, member, query, operation_name, variables)
        except asyncio.CancelledError:  # `stop` or the socket closed: Strawberry completes too
            outcome = Outcome.COMPLETED
        finally:
            slot.__exit__(None, None, None)
        if outcome is Outcome.REFUSED:
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        try:
            await self.send_message(CompleteMessage(type="complete", id=operation_id))
        finally:
            self.tasks.pop(operation_id, None)


__all__ = ["SharedGraphQLWSHandler", "SharedTransportWSHandler"]
