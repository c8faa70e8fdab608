"""Hostile WebSocket clients against a running `flowql serve` (issue #14, item 8): a bad
token is not acked (4403), a silent socket is closed (4408), sockets and subscriptions are
bounded in total and per token."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.live_server import LiveServer, live_server

ALICE = "alice-token"
BOB = "bob-token"
FLAGS = (
    "--auth-token", f"{ALICE}:orchestration:read,orchestration:write",
    "--auth-token", f"{BOB}:orchestration:read",
    "--ws-init-timeout", "1",
    "--max-websockets", "3",
    "--max-subscriptions", "3",
    "--max-subscriptions-per-token", "2",
)  # fmt: skip
TRANSPORT, LEGACY = "graphql-transport-ws", "graphql-ws"
LIVE = "subscription($w: ID!) { stageTransitions(workflowID: $w) { seq } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("ws"), *FLAGS) as served:
        yield served


def open_ws(server: LiveServer, protocol: str) -> ClientConnection:
    return connect(server.ws_url, subprotocols=[protocol], open_timeout=10)  # type: ignore[list-item]


def closed_code(ws: ClientConnection) -> int | None:
    try:
        while True:
            ws.recv(timeout=10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def init(ws: ClientConnection, token: str | None) -> dict[str, Any]:
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return message


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@pytest.mark.parametrize("token", [None, "forged"])
def test_connection_init_without_a_valid_token_is_4403(
    server: LiveServer, protocol: str, token: str | None
) -> None:
    with open_ws(server, protocol) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        messages: list[str] = []
        try:
            while True:
                messages.append(str(ws.recv(timeout=10)))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4403
        assert not any("connection_ack" in m for m in messages)


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
def test_no_connection_init_is_4408(server: LiveServer, protocol: str) -> None:
    with open_ws(server, protocol) as ws:
        assert closed_code(ws) == 4408


def test_websockets_are_bounded(server: LiveServer) -> None:
    with contextlib.ExitStack() as stack:
        for _ in range(3):
            ws = stack.enter_context(open_ws(server, TRANSPORT))
            assert init(ws, ALICE)["type"] == "connection_ack"
        with pytest.raises(InvalidStatus) as refused:
            stack.enter_context(open_ws(server, TRANSPORT))
        assert refused.value.response.status_code == 503
    with open_ws(server, TRANSPORT) as again:  # closed sockets free their places
        assert init(again, ALICE)["type"] == "connection_ack"


@pytest.fixture(scope="module")
def workflow(server: LiveServer) -> str:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": 'mutation { createWorkflow(input: {stages: [{wait_event: {event: "go"}}]}) { id } }'},
        headers={"Authorization": f"Bearer {ALICE}"},
    )
    return str(response.json()["data"]["createWorkflow"]["id"])


def subscribe(ws: ClientConnection, ident: str, workflow: str) -> dict[str, Any] | None:
    """The first message for the subscription `ident`: an error, or None when it runs."""
    payload = {"query": LIVE, "variables": {"w": workflow}}
    ws.send(json.dumps({"id": ident, "type": "subscribe", "payload": payload}))
    try:
        while True:
            message: dict[str, Any] = json.loads(ws.recv(timeout=1.5))
            if message.get("id") == ident:
                return message
    except TimeoutError:
        return None  # live and quiet: it holds its slot


def errors_of(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert message is not None, "the subscription was not refused"
    payload = message["payload"]
    errors: list[dict[str, Any]] = payload if message["type"] == "error" else payload["errors"]
    return errors


def test_subscriptions_are_bounded_per_token_and_in_total(server: LiveServer, workflow: str) -> None:
    with open_ws(server, TRANSPORT) as alice, open_ws(server, TRANSPORT) as bob:
        assert init(alice, ALICE)["type"] == "connection_ack"
        assert init(bob, BOB)["type"] == "connection_ack"
        assert subscribe(alice, "a1", workflow) is None
        assert subscribe(alice, "a2", workflow) is None
        third = errors_of(subscribe(alice, "a3", workflow))
        assert third[0]["extensions"]["code"] == "UNAVAILABLE"
        assert "this token" in third[0]["message"]
        assert subscribe(bob, "b1", workflow) is None
        over = errors_of(subscribe(bob, "b2", workflow))
        assert over[0]["extensions"]["code"] == "UNAVAILABLE"
        assert "the server" in over[0]["message"]
        alice.send(json.dumps({"id": "a1", "type": "complete"}))
        assert subscribe(bob, "b3", workflow) is None  # a slot freed by a completed subscription
    metrics = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {BOB}"}).text
    assert "flowql_subscriptions_open 0.0" in metrics or "flowql_subscriptions_open 0" in metrics


def test_server_log_is_clean(server: LiveServer) -> None:
    assert server.new_faults() == []
