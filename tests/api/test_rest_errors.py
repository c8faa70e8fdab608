"""Error paths over raw HTTP: every failure is `{errorCode, errorMessage}`, never a traceback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.rest_server import RestServer
from tests.api.rest_server import rest_server as rest_server  # the fixture

pytestmark = pytest.mark.both_stores

PREFIXES = ["/api/orchestration", "/api/orchestration/v2"]
WAIT = {"wait_event": {"event": "go"}}


def call(server: RestServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    if "content" in kwargs:  # raw bodies are sent as JSON (other media types are 415: test_csrf.py)
        kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
    return httpx.request(method, server.url + path, timeout=10.0, **kwargs)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errorCode", "errorMessage"}
    assert body["errorCode"] == code
    assert "Traceback" not in body["errorMessage"]
    message: str = body["errorMessage"]
    return message


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/workflows", b"{"),
        ("POST", "/workflows", b"[]"),
        ("POST", "/workflows", b""),
        ("POST", "/workflows", b'{"stages": [], "name": 3}'),
        ("POST", "/workflows", b"\xff\xfe"),
        ("POST", "/workflows", b'{"stages": NaN}'),
        ("POST", "/workflows", b"[" * 50_000),
        ("POST", "/triggers", b"{not json"),
        ("POST", "/triggers", b'{"event": "x"}'),
    ],
)
def test_malformed_bodies_are_validation_errors(
    rest_server: RestServer, prefix: str, method: str, path: str, content: bytes
) -> None:
    response = call(rest_server, method, prefix + path, content=content)
    assert_error(response, 400, "VALIDATION")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_instance_bodies_and_parameters(rest_server: RestServer, prefix: str) -> None:
    created = call(rest_server, "POST", f"{prefix}/workflows", json={"stages": [WAIT]}).json()["data"]
    run = f"{prefix}/workflows/{created['id']}/instances"
    assert_error(call(rest_server, "POST", run, content=b"[1]"), 400, "VALIDATION")
    assert "variables" in assert_error(call(rest_server, "POST", run, json={"n": 1}), 400, "VALIDATION")
    assert_error(call(rest_server, "POST", run + "?wait=perhaps", json={}), 400, "VALIDATION")
    started = call(rest_server, "POST", run, content=b"")
    assert started.status_code == 201
    instance = started.json()["data"]["id"]

    events = f"{prefix}/instances/{instance}/events"
    assert_error(call(rest_server, "POST", events, json={"name": 5}), 400, "VALIDATION")
    assert_error(call(rest_server, "POST", events, json={"name": ""}), 400, "VALIDATION")
    assert_error(call(rest_server, "POST", events), 400, "VALIDATION")
    history = f"{prefix}/instances/{instance}/stages/first/history"
    assert_error(call(rest_server, "GET", history), 400, "VALIDATION")
    paging = ("pageSize=", "pageSize=ten", "pageSize=-1") if prefix.endswith("v2") else ()  # v1 has no paging
    for query in ("running=maybe", "running=", *paging):
        assert_error(call(rest_server, "GET", f"{prefix}/instances?{query}"), 400, "VALIDATION")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_router_answers_in_formance_shape(rest_server: RestServer, prefix: str) -> None:
    assert_error(call(rest_server, "GET", f"{prefix}/nothing/here"), 404, "NOT_FOUND")
    response = call(rest_server, "PATCH", f"{prefix}/workflows")
    assert_error(response, 405, "VALIDATION")
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}  # HEAD: as GET


def test_unexpected_failures_are_internal_without_details(
    rest_server: RestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(rest_server.engine.orchestration, "read_workflow", boom)
    for prefix in PREFIXES:
        message = assert_error(call(rest_server, "GET", f"{prefix}/workflows/x"), 500, "INTERNAL")
        assert "secret" not in message


@pytest.mark.parametrize("prefix", PREFIXES)
def test_workflows_may_be_yaml(rest_server: RestServer, prefix: str) -> None:
    """Formance accepts `text/vnd.yaml` for workflows; timestamps stay strings as in JSON."""
    yaml_headers = {"Content-Type": "text/vnd.yaml"}
    document = b"name: later\nstages:\n  - delay:\n      until: 2030-01-01T00:00:00Z\n"
    created = call(rest_server, "POST", f"{prefix}/workflows", content=document, headers=yaml_headers)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["config"] == {
        "name": "later",
        "stages": [{"delay": {"until": "2030-01-01T00:00:00Z"}}],
    }
    for bad in (b"stages: [", b"- a list", b"a: &x [1]\nb: *x\nstages: []", b"stages: [.nan]"):
        response = call(rest_server, "POST", f"{prefix}/workflows", content=bad, headers=yaml_headers)
        assert_error(response, 400, "VALIDATION")
