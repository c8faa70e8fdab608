"""Clients for the API tests: GraphQL over HTTP (aiohttp) and over WebSocket (gql)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from yarl import URL

from flowql.app import AppState

TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # "graphql-transport-ws"
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL  # "graphql-ws"


@dataclass
class Api:
    """A running server (real port) and the clients the tests talk to it with."""

    url: URL
    session: aiohttp.ClientSession
    app_state: AppState
    token: str | None = None
    server: Any = None
    """The aiohttp TestServer (tests may close it to exercise shutdown)."""

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.app_state.engine

    @property
    def ws_url(self) -> str:
        return str(self.url.with_scheme("ws") / "graphql")

    def _headers(self, token: str | None) -> dict[str, str]:
        token = token if token is not None else self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """The raw response body of POST /graphql (asserts HTTP 200)."""
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        async with self.session.post(self.url / "graphql", json=body, headers=self._headers(token)) as resp:
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result

    async def query(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """`data` of a request that must succeed."""
        body = await self.post(query, variables, **kw)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """The first error of a request that must fail."""
        body = await self.post(query, variables, **kw)
        assert body.get("errors"), body
        first: dict[str, Any] = body["errors"][0]
        return first

    @asynccontextmanager
    async def ws(
        self,
        protocol: str = TRANSPORT_WS,
        *,
        token: str | None = None,
        init_payload: dict[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        """A gql session over one WebSocket speaking `protocol`."""
        if init_payload is None:
            init_payload = self._headers(token)
        transport = WebsocketsTransport(url=self.ws_url, subprotocols=[protocol], init_payload=init_payload)
        async with Client(transport=transport, fetch_schema_from_transport=False) as session:
            yield session


async def collect(
    session: Any, document: str, variables: dict[str, Any] | None = None, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Every result of a subscription until it completes (or `limit` results)."""
    results: list[dict[str, Any]] = []
    async for result in session.subscribe(gql(document), variable_values=variables or {}):
        results.append(result)
        if limit is not None and len(results) >= limit:
            break
    return results


__all__ = ["LEGACY_WS", "TRANSPORT_WS", "Api", "collect"]
