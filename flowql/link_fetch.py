"""HTTP fetches of trigger `link()`s on the origins the operator allowed (`--link-origin`).

Formance GETs the link's URI with its stack's client and decodes `{data: {...}}`
(`internal/triggers/expression.go`). The URI comes from the event, so anyone who can publish
an event chooses it: only listed origins are fetched (exact scheme, host and port, as CORS
origins are written), redirects are not followed (a 3xx could leave the list), and each
fetch is bounded in time, size and concurrency. No credentials are sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from flowql.engine.links import LinkError

from .cors import normalize_origin

TIMEOUT = 5.0
MAX_BYTES = 256 * 1024
CONCURRENCY = 16


class HttpLinks:
    """A `LinkFetcher` over aiohttp; `close()` it with the application."""

    def __init__(
        self,
        origins: Sequence[str],
        *,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._origins = frozenset(origins)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_bytes = max_bytes
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None

    def accepts(self, uri: str) -> bool:
        try:
            parts = urlsplit(uri)
            return normalize_origin(f"{parts.scheme}://{parts.netloc}") in self._origins
        except ValueError:  # not http(s), user info in the URI...
            return False

    async def fetch(self, uri: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Accept": "application/json"}
            )
        async with self._slots:
            try:
                async with self._session.get(uri, allow_redirects=False) as response:
                    if response.status >= 300:
                        raise LinkError(f"unexpected status code when reading resource: {response.status}")
                    body = await response.content.read(self._max_bytes + 1)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise LinkError(f"reading resource: {uri[:200]}: {type(exc).__name__}: {exc}") from None
        if len(body) > self._max_bytes:
            raise LinkError(f"reading resource: {uri[:200]}: answer larger than {self._max_bytes} bytes")
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise LinkError(f"decoding response: {exc}") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise LinkError("decoding response: no `data` object")
        return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = ["HttpLinks"]
