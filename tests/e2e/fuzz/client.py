"""Synchronous GraphQL clients for the fuzzer: raw HTTP bodies and one-shot WebSocket
subscriptions (hypothesis drives plain functions; the server is another process)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .rawjson import dumps

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer: status, content type, text and the decoded JSON (None if not JSON)."""

    status: int
    content_type: str
    text: str
    body: Any

    @property
    def errors(self) -> list[Any]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return errors if isinstance(errors, list) else []

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None


class HttpClient:
    """POST /graphql over one kept-alive connection (re-opened when the server drops it)."""

    def __init__(self, port: int, *, timeout: float = 30.0) -> None:
        self._port = port
        self._timeout = timeout
        self._conn = self._open()

    def _open(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self._port, timeout=self._timeout)

    def close(self) -> None:
        self._conn.close()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        for attempt in (1, 2):
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                self._conn = self._open()
                if attempt == 2:
                    raise
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text) if content_type == "application/json" else None
        except ValueError:
            body = None
        if response.getheader("Connection", "").lower() == "close":
            self._conn.close()
            self._conn = self._open()
        return Reply(response.status, content_type, text, body)

    def post(self, body: str | bytes, *, content_type: str = "application/json") -> Reply:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        return self.request("POST", "/graphql", data, {"Content-Type": content_type})

    def get(self, params: dict[str, str]) -> Reply:
        query = urllib.parse.urlencode(params)
        return self.request("GET", f"/graphql?{query}", headers={"Accept": "application/json"})

    def graphql(self, query: str, variables: object = None, operation_name: str | None = None) -> Reply:
        body: dict[str, object] = {"query": query, "variables": variables}
        if operation_name is not None:
            body["operationName"] = operation_name
        return self.post(dumps(body))

    def data(self, query: str, variables: object = None) -> Any:
        """`data` of a request that must succeed (set-up, not fuzzing)."""
        reply = self.graphql(query, variables)
        assert reply.status == 200 and not reply.errors, reply.text[:2000]
        return reply.data


@dataclass
class WsReply:
    """What one subscription said before it completed, failed, or we stopped listening."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    text: str = ""

    @property
    def errors(self) -> list[Any]:
        found: list[Any] = []
        for message in self.messages:
            payload = message.get("payload")
            if message.get("type") == "error":
                found.extend(payload if isinstance(payload, list) else [payload])
            elif isinstance(payload, dict) and isinstance(payload.get("errors"), list):
                found.extend(payload["errors"])
        return found

    @property
    def results(self) -> list[Any]:
        return [m.get("payload") for m in self.messages if m.get("type") in ("next", "data")]


def subscribe_once(
    ws_url: str,
    query: str,
    variables: object = None,
    *,
    protocol: str = TRANSPORT_WS,
    listen: float = 0.5,
    max_messages: int = 50,
) -> WsReply:
    """Subscribe once; read until complete/error, `max_messages`, or `listen` quiet seconds."""
    reply = WsReply()
    legacy = protocol == LEGACY_WS
    start = "start" if legacy else "subscribe"
    with connect(ws_url, subprotocols=[protocol], open_timeout=10, close_timeout=2) as ws:  # type: ignore[list-item]
        try:
            ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            _expect_ack(ws)
            payload = {"query": query, "variables": variables}
            ws.send(dumps({"id": "1", "type": start, "payload": payload}))
            while len(reply.messages) < max_messages:
                try:
                    text = ws.recv(timeout=listen)
                except TimeoutError:
                    ws.send(json.dumps({"id": "1", "type": "stop" if legacy else "complete"}))
                    break
                reply.text += str(text) + "\n"
                message = json.loads(text)
                if message.get("type") in ("ka", "pong"):
                    continue
                if message.get("type") == "ping":
                    ws.send(json.dumps({"type": "pong"}))
                    continue
                reply.messages.append(message)
                if message.get("type") in ("complete", "error"):
                    break
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                reply.close_code, reply.close_reason = closed.rcvd.code, closed.rcvd.reason
    return reply


def send_messages(
    ws_url: str, messages: list[str], *, protocol: str = TRANSPORT_WS, listen: float = 0.3
) -> WsReply:
    """After connection_init, send raw text messages; collect answers until `listen` quiet seconds."""
    reply = WsReply()
    with connect(ws_url, subprotocols=[protocol], open_timeout=10, close_timeout=2) as ws:  # type: ignore[list-item]
        try:
            ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            _expect_ack(ws)
            for message in messages:
                ws.send(message)
            while len(reply.messages) < 50:
                try:
                    text = ws.recv(timeout=listen)
                except TimeoutError:
                    break
                reply.text += str(text) + "\n"
                decoded = json.loads(text)
                if decoded.get("type") not in ("ka", "pong", "ping"):
                    reply.messages.append(decoded)
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                reply.close_code, reply.close_reason = closed.rcvd.code, closed.rcvd.reason
    return reply


def _expect_ack(ws: Any) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=10))
        if message.get("type") == "connection_ack":
            return
    raise AssertionError("no connection_ack")


__all__ = ["LEGACY_WS", "TRANSPORT_WS", "HttpClient", "Reply", "WsReply", "send_messages", "subscribe_once"]
