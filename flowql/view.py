"""The GraphQL endpoint: Strawberry's aiohttp view with our context, auth, IDE and pings.

Strawberry does the protocol work (HTTP, graphql-transport-ws, graphql-ws); this subclass
fills its hooks: a typed `Context` with per-request DataLoaders, the caller's grant, our
offline GraphiQL page, and WebSocket heartbeats (aiohttp pings every `heartbeat` seconds
and drops a peer that stops answering: graphql-transport-ws has no server ping of its own).
Subscriptions over both protocols run shared (fanout.py, ws_handlers.py) and every socket
writes through a bounded outbox (ws_outbox.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import cast

import strawberry
from aiohttp import web
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import SubscriptionExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from flowql.engine.errors import ErrorCode
from flowql.engine.runtime import Engine
from flowql.resolvers import build_loaders
from flowql.schema import ApiLimits, Context

from .auth import Authenticator, refusal
from .config import READ
from .fanout import Multiplexer
from .fanout_pump import DEFAULT_LINGER
from .metrics import Metrics
from .persisted import PersistedQueries, PersistedQueryError
from .scope_check import apply, grant_of
from .slots import SubscriptionSlots
from .ws_handlers import SharedGraphQLWSHandler, SharedTransportWSHandler
from .ws_messages import OUTBOX, CheckedWebSocketAdapter
from .ws_outbox import DEFAULT_LIMIT, DEFAULT_PONG_TIMEOUT, Outbox

WEBSOCKET = web.RequestKey("flowql.websocket", bool)
"""Request key set on WebSocket upgrades (the latency histogram skips them)."""
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
GRAPHIQL_PAGE = Path(__file__).parent / "static" / "graphiql.html"


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewSettings:
    limits: ApiLimits
    store_name: str
    heartbeat: float = 15.0
    keep_alive_interval: float = 10.0
    max_subscriptions_per_connection: int = 100
    allowed_origins: Sequence[str] = ()
    max_response_bytes: int = 16 * 2**20
    outbound_limit: int = DEFAULT_LIMIT
    """Bytes a WebSocket may leave unread before it is closed with 1013 (ws_outbox.py)."""
    pong_timeout: float = DEFAULT_PONG_TIMEOUT
    """Seconds a WebSocket may leave the outbox's ping unanswered (then 1013)."""
    fanout_linger: float = DEFAULT_LINGER
    """Seconds a large fan-out waits for its execution's next result (fanout_pump.py)."""
    ws_init_timeout: float = 5.0
    """Seconds a WebSocket may take to send `connection_init` (then 4408)."""
    max_websockets: int = 10_000
    max_subscriptions: int = 10_000
    max_subscriptions_per_token: int = 1_000


class FlowqlView(GraphQLView[Context, None]):
    websocket_adapter_class = CheckedWebSocketAdapter
    graphql_transport_ws_handler_class = SharedTransportWSHandler
    graphql_ws_handler_class = SharedGraphQLWSHandler

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        engine: Engine,
        authenticator: Authenticator,
        metrics: Metrics,
        settings: ViewSettings,
        persisted: PersistedQueries | None = None,
    ) -> None:
        super().__init__(
            schema,
            keep_alive=True,  # graphql-ws `ka` messages
            keep_alive_interval=settings.keep_alive_interval,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self.engine = engine
        self.authenticator = authenticator
        self.metrics = metrics
        self.settings = settings
        self.persisted = persisted if persisted is not None else PersistedQueries()
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.fanout = Multiplexer(
            schema, self._execution_context, self.encode_json, linger=settings.fanout_linger
        )
        self.open_websockets = 0
        self._initialised: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.subscription_slots = SubscriptionSlots(
            total=settings.max_subscriptions, per_token=settings.max_subscriptions_per_token
        )
        self._ide_html = GRAPHIQL_PAGE.read_text(encoding="utf-8")

    def decode_json(self, data: str | bytes) -> object:
        """Strict JSON (HTTP bodies, query parameters, WebSocket messages): anything Python's
        parser chokes on (integers over 4,300 digits, nesting past its recursion limit), NaN
        and Infinity, nesting deeper than MAX_JSON_DEPTH and lone UTF-16 surrogates (valid
        escapes, but not Unicode: nothing downstream can encode them) are "not JSON" (400)."""
        try:
            value = json.loads(data, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise json.JSONDecodeError(f"invalid JSON: {error}", "", 0) from None
        except RecursionError:
            problem: str | None = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        except UnicodeDecodeError:
            problem = "the body is not UTF-8"
        except _NotJSON as error:
            problem = str(error)
        except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
            problem = "a number has too many digits"
        else:
            problem = _tree_problem(value, MAX_JSON_DEPTH)
        if problem:
            raise json.JSONDecodeError(problem, "", 0)
        return value

    def encode_json(self, data: object) -> str:
        """JSON of a result; one larger than `max_response_bytes` is replaced by an error
        (the static cost bounds what runs, this bounds what is sent)."""
        text = json.dumps(data, separators=(",", ":"))
        limit = self.settings.max_response_bytes
        if len(text) <= limit:
            return text
        message = f"the response would be {len(text)} bytes (at most {limit}): ask for less"
        error = {"message": message, "extensions": {"code": ErrorCode.VALIDATION.value}}
        if isinstance(data, dict) and isinstance(data.get("payload"), dict):  # a WebSocket message
            return json.dumps({**data, "payload": {"data": None, "errors": [error]}})
        return json.dumps({"data": None, "errors": [error]})

    async def execute_operation(
        self,
        request: web.Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: web.Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        # With auth on, a caller without a valid token costs no parsing or validation (and
        # learns nothing about the schema from "Did you mean" hints).
        refused = refusal(grant_of(context), READ)
        if refused is not None and refused.code is ErrorCode.UNAUTHENTICATED:
            error = GraphQLError(refused.message, extensions={"code": refused.code.value})
            return ExecutionResult(data=None, errors=[error])
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    def parse_json(self, data: str | bytes) -> object:
        try:
            value = self.decode_json(data)
        except json.JSONDecodeError as error:
            raise HTTPException(400, f"Unable to parse request body as JSON: {error.msg}") from None
        # Strawberry reads `.get("query")` of whatever a POST body (bytes) decodes to.
        if isinstance(data, bytes) and not isinstance(value, dict | list):
            raise HTTPException(400, "The request body must be a JSON object")
        return value

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        # Batches are refused later; a persisted query names its document by hash.
        return data if isinstance(data, list) else self.persisted.resolve(data)

    async def get_context(self, request: web.Request, response: web.StreamResponse) -> Context:
        context = Context(
            engine=self.engine,
            loaders=build_loaders(self.engine),
            limits=self.settings.limits,
            store_name=self.settings.store_name,
            request=request,
            response=response,
        )
        apply(context, self.authenticator.grant(request.headers.get("Authorization")))
        return context

    def _execution_context(self, subscriber: Context) -> Context:
        """The context of a shared execution: the subscriber's grant, nothing of its connection."""
        return Context(
            engine=self.engine,
            loaders=build_loaders(self.engine),
            limits=self.settings.limits,
            store_name=self.settings.store_name,
            scopes=subscriber.scopes,
            authenticated=subscriber.authenticated,
        )

    def make_outbox(
        self, ws: web.WebSocketResponse, transport: asyncio.Transport, wake: Callable[[], None]
    ) -> Outbox:
        return Outbox(
            ws,
            transport,
            wake,
            limit=self.settings.outbound_limit,
            pong_timeout=self.settings.pong_timeout,
            on_overflow=self.metrics.slow_websockets.inc,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        request: web.Request = context.request
        fallback = self.authenticator.grant(request.headers.get("Authorization"))
        grant = self.authenticator.grant_from_params(context.connection_params, fallback)
        apply(context, grant)
        ws = context.response
        if isinstance(ws, web.WebSocketResponse):
            self._initialised.add(ws)
            if grant.scopes is not None and not grant.authenticated:
                # Not acked: 4403 on both protocols (legacy graphql-ws would close with 1011).
                await ws.close(code=4403, message=b"Forbidden: a valid bearer token is required")
                raise ConnectionRejectionError()
        return cast(UnsetType, UNSET)  # no payload in connection_ack

    async def render_graphql_ide(self, request: web.Request) -> web.Response:
        # Our own page: every asset is vendored under /static/vendor (works offline).
        return web.Response(
            text=self._ide_html, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        if self.open_websockets >= self.settings.max_websockets:
            raise web.HTTPServiceUnavailable(
                text=f"the server holds its most WebSockets ({self.settings.max_websockets}); try later",
                headers={"Retry-After": "5"},
            )
        # No permessage-deflate: its zlib state cost ~100 KB per connection for messages of a
        # few hundred bytes (tests/bench/subscription_load.py: 152 -> 49 KB RSS per subscriber).
        # No autoping: ws_messages.py answers pings and gives pongs to the outbox.
        ws = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            heartbeat=self.settings.heartbeat,
            compress=False,
            autoping=False,
        )
        await ws.prepare(request)
        self.websockets.add(ws)
        self.open_websockets += 1
        self.metrics.websockets.inc()
        request[WEBSOCKET] = True
        if subprotocol == GRAPHQL_WS_PROTOCOL:  # graphql-transport-ws has Strawberry's own 4408
            asyncio.get_running_loop().call_later(
                self.settings.ws_init_timeout, lambda: asyncio.ensure_future(self._init_deadline(ws))
            )
        return ws

    async def _init_deadline(self, ws: web.WebSocketResponse) -> None:
        if ws not in self._initialised and not ws.closed:
            await ws.close(code=4408, message=b"Connection initialisation timeout")

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: web.Response
    ) -> web.Response:
        response = super().create_response(response_data, sub_response)
        if _unavailable(response_data):  # the store went away: 503, as /readyz says
            response.set_status(503)
        return response

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            response = await self.run(request=request)
            outbox = request.get(OUTBOX)
            if outbox is not None and outbox.reason is not None:
                await outbox.close()  # too slow (1013), now that no one waits in receive()
            return response
        except HTTPException as error:  # raised by Strawberry before any GraphQL execution
            return _refusal(error.status_code, error.reason)
        except PersistedQueryError as error:
            body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
            return web.json_response(body, status=error.status)
        except web.HTTPRequestEntityTooLarge as error:
            return _refusal(error.status, error.text or "request body too large")
        finally:
            if request.get(WEBSOCKET):
                self.open_websockets -= 1
                self.metrics.websockets.dec()

    async def close_websockets(self, reason: str = "server shutting down") -> None:
        """Close every open WebSocket (1001 going away); clients reconnect and replay."""
        for ws in list(self.websockets):
            await ws.close(code=1001, message=reason.encode())


class _NotJSON(ValueError):
    pass


def _refuse_constant(name: str) -> object:
    raise _NotJSON(f"{name} is not JSON")


def _tree_problem(value: object, max_depth: int) -> str | None:
    """Nesting past `max_depth`, or a string holding a lone surrogate (iteratively: the value
    may be as deep as the parser's recursion allowed)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return f"string {item[:40]!r} holds a lone UTF-16 surrogate, which is not Unicode"
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"JSON nested deeper than {max_depth} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _unavailable(data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> bool:
    results = data if isinstance(data, list) else [data]
    errors: list[dict[str, object]] = [e for r in results for e in r.get("errors") or []]  # type: ignore[misc]
    return any(
        isinstance(ext := error.get("extensions"), dict) and ext.get("code") == ErrorCode.UNAVAILABLE.value
        for error in errors
    )


def _refusal(status: int, reason: str) -> web.Response:
    """A request Strawberry refused before execution, answered as a GraphQL error body."""
    body = {"data": None, "errors": [{"message": reason, "extensions": {"code": ErrorCode.VALIDATION.value}}]}
    return web.json_response(body, status=status)


__all__ = ["MAX_JSON_DEPTH", "FlowqlView", "ViewSettings"]
