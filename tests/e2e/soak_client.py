"""GraphQL over HTTP for the soak, telling apart what a dead server did and did not receive.

`NotSent`: the connection was refused, the server cannot have acted on the request.
`Uncertain`: the connection broke after the request went out (or timed out): the server may
have committed it. `GraphQLFailure`: the server answered with an error and its code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")

CREATE_WALLET = "mutation($name: String!) { createWallet(name: $name) { id name } }"
CREATE_WORKFLOW = "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id name } }"
RUN_WORKFLOW = "mutation($id: ID!, $v: JSON) { runWorkflow(workflowID: $id, variables: $v) { id status } }"
SEND_EVENT = "mutation($id: ID!, $name: String!) { sendEvent(instanceID: $id, name: $name) { id } }"
INSTANCES = """query($w: ID, $running: Boolean, $first: Int, $after: String) {
  instances(workflowID: $w, running: $running, first: $first, after: $after) {
    edges { node { id variables } }
    pageInfo { hasNextPage endCursor }
  }
}"""


class Unavailable(Exception):
    """The server did not answer."""


class NotSent(Unavailable):
    pass


class Uncertain(Unavailable):
    pass


class GraphQLFailure(Exception):
    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class Api:
    def __init__(self, url: str, *, concurrency: int = 16, timeout: float = 60.0) -> None:
        self.url = f"{url}/graphql"
        self._slots = asyncio.Semaphore(concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None
        self.requests = 0
        self.not_sent = 0
        self.uncertain = 0

    async def __aenter__(self) -> Api:
        self._http = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    async def call(self, query: str, **variables: Any) -> dict[str, Any]:
        assert self._http is not None
        async with self._slots:
            self.requests += 1
            try:
                async with self._http.post(self.url, json={"query": query, "variables": variables}) as resp:
                    if resp.status >= 500:
                        raise Uncertain(f"HTTP {resp.status}")
                    body = await resp.json()
            except aiohttp.ClientConnectorError as error:
                self.not_sent += 1
                raise NotSent(str(error)) from error
            except (aiohttp.ClientError, TimeoutError) as error:
                self.uncertain += 1
                raise Uncertain(f"{type(error).__name__}: {error}") from error
        errors = body.get("errors")
        if errors:
            first = errors[0]
            raise GraphQLFailure((first.get("extensions") or {}).get("code"), first.get("message", ""))
        data: dict[str, Any] = body["data"]
        return data

    async def until_answered(self, action: Callable[[], Awaitable[T]], *, deadline: float = 120.0) -> T:
        """Retry `action` while the server is down (it may be restarting)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline
        while True:
            try:
                return await action()
            except Unavailable:
                if loop.time() > give_up:
                    raise
                await asyncio.sleep(0.1)

    async def find_run(self, workflow_id: str, key_name: str, key: str) -> str | None:
        """The id of the instance of `workflow_id` whose variable `key_name` is `key`."""
        after = None
        while True:
            data = await self.call(INSTANCES, w=workflow_id, first=1000, after=after)
            page = data["instances"]
            for edge in page["edges"]:
                if edge["node"]["variables"].get(key_name) == key:
                    return str(edge["node"]["id"])
            if not page["pageInfo"]["hasNextPage"]:
                return None
            after = page["pageInfo"]["endCursor"]

    async def running_count(self) -> int:
        data = await self.call(INSTANCES, running=True, first=1000)
        return len(data["instances"]["edges"])


__all__ = ["Api", "GraphQLFailure", "NotSent", "Unavailable", "Uncertain"]
