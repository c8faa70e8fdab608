"""CORS for browser frontends on other origins, over real HTTP and WebSocket handshakes."""

from __future__ import annotations

import aiohttp
import pytest

from flowql.config import Config, ConfigError
from tests.api.client import TRANSPORT_WS
from tests.api.conftest import ApiFactory

VITE = "http://localhost:5173"
EVIL = "https://evil.example"
QUERY = {"query": "{ serverInfo { version } }"}


async def test_an_allowed_origin_gets_preflight_and_answers(make_api: ApiFactory) -> None:
    api = await make_api(cors_origins=(VITE, "https://app.example.com"))
    for path in ("graphql", "api/orchestration/v2/workflows", "api/orchestration/workflows"):
        async with api.session.options(
            api.url / path,
            headers={
                "Origin": VITE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        ) as resp:
            assert resp.status == 204, path
            assert resp.headers["Access-Control-Allow-Origin"] == VITE
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
            assert {"authorization", "content-type"} <= allowed
            assert "Origin" in resp.headers.getall("Vary")
    async with api.session.post(api.url / "graphql", json=QUERY, headers={"Origin": VITE}) as resp:
        assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == VITE
        assert "Origin" in resp.headers.getall("Vary")
    async with api.session.get(api.url / "api/orchestration/v2/workflows", headers={"Origin": VITE}) as resp:
        assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == VITE
    # An error answer carries the header too, so the page can read it.
    async with api.session.get(
        api.url / "api/orchestration/v2/workflows/nope", headers={"Origin": VITE}
    ) as resp:
        assert resp.status == 404 and resp.headers["Access-Control-Allow-Origin"] == VITE


async def test_an_unknown_origin_gets_no_cors_headers(make_api: ApiFactory) -> None:
    api = await make_api(cors_origins=(VITE,))
    headers = {"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    async with api.session.options(api.url / "graphql", headers=headers) as resp:
        assert resp.status == 403
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert "Access-Control-Allow-Methods" not in resp.headers
    async with api.session.post(api.url / "graphql", json=QUERY, headers={"Origin": EVIL}) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers
    # Only the API's paths: the console and health checks are same-origin pages and probes.
    async with api.session.get(api.url / "healthz", headers={"Origin": VITE}) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_nothing_is_allowed_by_default(make_api: ApiFactory) -> None:
    api = await make_api()
    headers = {"Origin": VITE, "Access-Control-Request-Method": "POST"}
    async with api.session.options(api.url / "graphql", headers=headers) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers
    async with api.session.post(api.url / "graphql", json=QUERY, headers={"Origin": VITE}) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers
    await _refused(api.ws_url, VITE)


async def _handshake(url: str, origin: str | None) -> int:
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, protocols=[TRANSPORT_WS], headers=headers) as ws:
                await ws.send_json({"type": "connection_init", "payload": {}})
                message = await ws.receive_json(timeout=5)
                assert message["type"] == "connection_ack"
                return 101
        except aiohttp.WSServerHandshakeError as error:
            return error.status


async def _refused(url: str, origin: str) -> None:
    assert await _handshake(url, origin) == 403


async def test_the_websocket_accepts_exactly_the_listed_origins(make_api: ApiFactory) -> None:
    api = await make_api(cors_origins=(VITE,))
    assert await _handshake(api.ws_url, VITE) == 101
    assert await _handshake(api.ws_url, "http://localhost:5173/") == 101  # as browsers send it: no slash
    await _refused(api.ws_url, EVIL)
    await _refused(api.ws_url, "http://localhost:5174")
    same_origin = f"http://{api.url.host}:{api.url.port}"
    assert await _handshake(api.ws_url, same_origin) == 101
    assert await _handshake(api.ws_url, None) == 101  # not a browser: nothing to forge


def test_origins_from_flags_and_environment() -> None:
    config = Config.from_env({"FLOWQL_CORS_ORIGINS": "http://localhost:5173  HTTPS://App.Example.com:443/"})
    assert config.cors_origins == ("http://localhost:5173", "https://app.example.com")
    flags = Config.from_env({"FLOWQL_CORS_ORIGINS": "http://a.test"}, cors_origins=("http://b.test",))
    assert flags.cors_origins == ("http://b.test",)
    for bad in ("localhost:5173", "http://a.test/path", "*", "ftp://a.test"):
        with pytest.raises(ConfigError, match="cors_origins"):
            Config.from_env({"FLOWQL_CORS_ORIGINS": bad})


def test_the_flag_repeats() -> None:
    from flowql.cli import build_parser, config_from

    args = build_parser().parse_args(
        ["serve", "--cors-origin", VITE, "--cors-origin", "https://app.example.com"]
    )
    assert config_from(args).cors_origins == (VITE, "https://app.example.com")


async def test_preflights_need_no_token(make_api: ApiFactory) -> None:
    from flowql.config import AuthToken

    api = await make_api(cors_origins=(VITE,), auth_tokens=(AuthToken.parse("s3cret:orchestration:read"),))
    for path in ("graphql", "api/orchestration/v2/workflows"):
        headers = {"Origin": VITE, "Access-Control-Request-Method": "GET"}
        async with api.session.options(api.url / path, headers=headers) as resp:
            assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == VITE, path
    async with api.session.get(api.url / "api/orchestration/v2/workflows", headers={"Origin": VITE}) as resp:
        assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == VITE
