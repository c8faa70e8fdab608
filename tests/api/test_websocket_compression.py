"""WebSockets are not compressed (found by tests/bench/subscription_load.py): permessage-deflate
kept ~100 KB of zlib state per connection (152 KB of server RSS per subscriber with it, 49 KB
without) and slowed delivery, for messages of a few hundred bytes. Browsers offer it by default;
the server declines, which the protocol allows (RFC 7692)."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from tests.api.client import TRANSPORT_WS, Api


async def test_the_server_declines_permessage_deflate(api: Api) -> None:
    async with connect(api.ws_url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
        assert ws.request is not None and ws.response is not None
        assert "permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
