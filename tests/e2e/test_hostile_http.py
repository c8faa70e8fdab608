"""Hostile HTTP clients against a running `flowql serve` (issue #14, items 1-4, 10, 11).

One served process with bearer auth, `--allowed-host flowql.test` and a 1 s header timeout;
each test attacks it as an outsider would, and checks the store did not change when the
request was refused.
"""

from __future__ import annotations

import base64
import socket
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.live_server import LiveServer, live_server

WRITER = "writer-token"
READER = "reader-token"
BLIND = "blind-token"
FLAGS = (
    "--auth-token", f"{WRITER}:orchestration:read,orchestration:write",
    "--auth-token", f"{READER}:orchestration:read",
    "--auth-token", f"{BLIND}:orchestration:write",
    "--allowed-host", "flowql.test",
    "--header-timeout", "1",
)  # fmt: skip
SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:1"}},
        "amount": {"amount": "1000000", "asset": "USD/2"},
    }
}
FIELDS_995 = "query Q { instances { " + " ".join(["nodes { id }"] * 995) + " } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("hostile"), *FLAGS) as served:
        yield served


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def gql(server: LiveServer, query: str, token: str | None = WRITER, **variables: Any) -> dict[str, Any]:
    headers = bearer(token) if token else {}
    response = httpx.post(
        f"{server.url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
    )
    body: dict[str, Any] = response.json()
    return body


def rows(server: LiveServer, table: str) -> int:
    with sqlite3.connect(server.db) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def workflow_id(server: LiveServer) -> str:
    create = "mutation C($s: [StageInput!]!) { createWorkflow(input: {stages: $s}) { id } }"
    body = gql(server, create, s=[SEND])
    return str(body["data"]["createWorkflow"]["id"])


# --- 1. CSRF ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_cors_simple_bodies_are_415_and_write_nothing(server: LiveServer, content_type: str) -> None:
    flow = workflow_id(server)
    workflows, instances = rows(server, "workflows"), rows(server, "instances")
    body = b'{"stages": [{"wait_event": {"event": "go"}}]}'
    base = f"{server.url}/api/orchestration/v2"
    # What a cross-site <form enctype=...> sends, with the token a browser would not even have.
    for path in ("/workflows", f"/workflows/{flow}/instances"):
        response = httpx.post(
            base + path, content=body, headers={"Content-Type": content_type, **bearer(WRITER)}
        )
        assert response.status_code == 415, response.text
        assert set(response.json()) == {"errorCode", "errorMessage"}
    # A bodiless no-cors fetch from a page (it carries Origin) is refused too.
    response = httpx.post(
        f"{base}/workflows/{flow}/instances", headers={"Origin": "http://evil.example", **bearer(WRITER)}
    )
    assert response.status_code == 415
    assert (rows(server, "workflows"), rows(server, "instances")) == (workflows, instances)
    ok = httpx.post(f"{base}/workflows/{flow}/instances", json={}, headers=bearer(WRITER))
    assert ok.status_code == 201


# --- 2. DNS rebinding ------------------------------------------------------------------------
def test_foreign_host_names_are_421(server: LiveServer) -> None:
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example"):
        response = httpx.get(f"{server.url}/healthz", headers={"Host": host})
        assert response.status_code == 421, host
    for host in ("localhost", f"127.0.0.1:{server.port}", "[::1]", "flowql.test", "app.localhost"):
        assert httpx.get(f"{server.url}/healthz", headers={"Host": host}).status_code == 200, host


def test_foreign_host_websocket_upgrade_is_refused(server: LiveServer) -> None:
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "graphql-transport-ws",
    }
    refused = httpx.get(f"{server.url}/graphql", headers={**upgrade, "Host": "evil.example"})
    assert refused.status_code == 421
    with httpx.stream("GET", f"{server.url}/graphql", headers={**upgrade, "Host": "localhost"}) as accepted:
        assert accepted.status_code == 101


# --- 3. cheap refusals -----------------------------------------------------------------------
def test_unauthenticated_documents_are_refused_before_parsing(server: LiveServer) -> None:
    for query in (FIELDS_995, "query { workflowz { id } }", "{ not even GraphQL"):
        error = gql(server, query, token=None)["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert "Did you mean" not in error["message"]


def test_repeated_selections_are_refused_before_validation(server: LiveServer) -> None:
    error = gql(server, FIELDS_995)["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "'nodes' is selected 995 times" in error["message"]
    many = "query Q { " + " ".join(f"a{i}: serverInfo {{ version }}" for i in range(600)) + " }"
    error = gql(server, many)["errors"][0]
    assert "selections (at most 1000)" in error["message"]


# --- 4. query cost ---------------------------------------------------------------------------
def test_costly_queries_are_refused_before_they_run(server: LiveServer) -> None:
    query = "query { workflows(first: 1000) { nodes { instances(first: 1000) { nodes { id } } } } }"
    error = gql(server, query, token=READER)["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["maxCost"] == 50_000
    by_variable = "query($n: Int) { instances(first: $n) { nodes { id stages { index history { name } } } } }"
    assert "would cost" in gql(server, by_variable, n=1000)["errors"][0]["message"]
    assert "errors" not in gql(server, by_variable, n=10)


# --- 10. smaller leaks ---------------------------------------------------------------------
def test_pages_and_answers_carry_browser_headers(server: LiveServer) -> None:
    for path, accept in (("/", "text/html"), ("/graphql", "text/html"), ("/healthz", "*/*")):
        response = httpx.get(server.url + path, headers={"Accept": accept})
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    page = httpx.get(server.url + "/", headers={"Accept": "text/html"})
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_metrics_need_the_read_scope(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    assert httpx.get(f"{server.url}/metrics", headers=bearer(BLIND)).status_code == 403
    assert "flowql_" in httpx.get(f"{server.url}/metrics", headers=bearer(READER)).text


def test_a_slow_header_writer_is_dropped(server: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 8:
            try:
                slow.sendall(b"X-Slow: 1\r\n")
                if slow.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed = True
                break
            time.sleep(0.2)
        assert closed, "the server kept a connection that never finished its headers"


def test_forged_cursors_are_validation_errors(server: LiveServer) -> None:
    forged = [
        '{"c": "2024-01-01T00:00:00.000Z", "i": "x", "d": "next", "s": Infinity}',
        "[" * 2000 + "]" * 2000,  # past Python's recursion limit, within a URL's length
        '{"p": ' + "[" * 2000 + "]" * 2000 + ', "f": {}}',
    ]
    for body in forged:
        cursor = base64.urlsafe_b64encode(body.encode()).decode()
        query = "query($a: String) { workflows(after: $a) { nodes { id } } }"
        error = gql(server, query, a=cursor)["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION", error
        rest = httpx.get(
            f"{server.url}/api/orchestration/v2/workflows", params={"cursor": cursor}, headers=bearer(READER)
        )
        assert rest.status_code == 400, rest.text


# --- 11. one scope rule --------------------------------------------------------------------
def test_one_scope_rule_on_every_transport(server: LiveServer) -> None:
    flow = workflow_id(server)
    path = f"{server.url}/api/orchestration/v2/workflows/{flow}"
    for method in ("GET", "HEAD"):
        assert httpx.request(method, path, headers=bearer(READER)).status_code == 200, method
        assert httpx.request(method, path, headers=bearer(BLIND)).status_code == 403, method
        assert httpx.request(method, path).status_code == 401, method
    assert httpx.head(f"{server.url}/metrics", headers=bearer(BLIND)).status_code == 403
    assert gql(server, "query { serverInfo { version } }", token=BLIND)["errors"][0]["extensions"] == {
        "code": "FORBIDDEN",
        "scope": "orchestration:read",
    }
    mutation = 'mutation { deleteWorkflow(id: "x") { id } }'
    assert gql(server, mutation, token=READER)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_server_log_is_clean(server: LiveServer) -> None:
    assert server.new_faults() == []
