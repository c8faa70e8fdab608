"""Small helpers for tests that hold a raw WebSocket (websockets' asyncio client)."""

from __future__ import annotations

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


async def close_of(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read (and drop) what is left until the server closes; its close code and reason."""
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


__all__ = ["close_of"]
