"""Strawberry's two WebSocket protocol handlers, with subscriptions run shared.

Everything about the protocols stays Strawberry's (init, ack, ping, ids, limits, errors
before execution, queries and mutations over graphql-transport-ws). Only the step that
runs a subscription and sends its results is replaced: the operation joins the
`Multiplexer`'s shared execution for its key, which writes the `next` (graphql-ws: `data`)
frames straight to this socket's outbox; the operation's task just waits for the end and
then sends `complete` as Strawberry would. A subscription refused before execution runs on
Strawberry's own path, so its error reads exactly as before.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import CompleteMessage

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


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view: FlowqlView = self.view  # type: ignore[assignment]
        if not view.fanout.shareable(operation.query, operation.operation_name):
            await super().run_operation(operation)
            return
        assert isinstance(self.websocket, CheckedWebSocketAdapter)
        member = Member(self.websocket.outbox, _prefix(operation.id, "next"))
        outcome = await _follow(self, member, operation.query, operation.operation_name, operation.variables)
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
        member = Member(self.websocket.outbox, _prefix(operation_id, "data"))
        try:
            outcome = await _follow(self, member, query, operation_name, variables)
        except asyncio.CancelledError:  # `stop` or the socket closed: Strawberry completes too
            outcome = Outcome.COMPLETED
        if outcome is Outcome.REFUSED:
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        try:
            await self.send_message(CompleteMessage(type="complete", id=operation_id))
        finally:
            self.tasks.pop(operation_id, None)


__all__ = ["SharedGraphQLWSHandler", "SharedTransportWSHandler"]
