from __future__ import annotations

from tests.api.client import Api


async def test_server_info(api: Api) -> None:
    data = await api.query("{ serverInfo { version store } }")
    assert data["serverInfo"]["store"] == "sqlite"
