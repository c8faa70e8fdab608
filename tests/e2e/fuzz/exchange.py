"""One fuzzing exchange: send a request, then judge the answer, the server log and the store."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import OperationType

from ..live_server import LiveServer
from .client import HttpClient, Reply, WsReply, send_messages, subscribe_once
from .rawjson import dumps
from .store_watch import StoreWatch
from .verdict import http_problems, rejected, ws_problems


@dataclass
class Fuzzer:
    server: LiveServer
    client: HttpClient
    watch: StoreWatch

    def exchange(
        self, document: str, kind: OperationType, variables: object, *, operation_name: str | None = None
    ) -> list[str]:
        """Problems with one request; [] when the server behaved."""
        before = self.watch.version()
        sent = document + dumps(variables)
        reply: Reply | WsReply
        if kind is OperationType.SUBSCRIPTION:
            reply = subscribe_once(self.server.ws_url, document, variables)
            problems = ws_problems(reply, sent)
        else:
            reply = self.client.graphql(document, variables, operation_name)
            problems = http_problems(reply, sent)
        return problems + self.aftermath(before, kind is OperationType.MUTATION and not rejected(reply))

    def get(self, document: str, variables: object) -> list[str]:
        """A query over GET, variables in the URL."""
        before = self.watch.version()
        params = {"query": document, "variables": dumps(variables)}
        reply = self.client.get(params)
        return http_problems(reply, document + params["variables"]) + self.aftermath(before, False)

    def websocket(self, messages: list[str], protocol: str) -> list[str]:
        """Raw protocol messages; only the answers and the log are judged (they may mutate)."""
        reply = send_messages(self.server.ws_url, messages, protocol=protocol)
        problems = ws_problems(reply, "".join(messages)) + self.aftermath(self.watch.version(), True)
        return problems

    def raw(self, body: str | bytes, *, content_type: str = "application/json") -> list[str]:
        """Problems with a hand-made HTTP body (transport-level attacks)."""
        before = self.watch.version()
        reply = self.client.post(body, content_type=content_type)
        sent = body if isinstance(body, str) else body.decode("utf-8", "replace")
        return http_problems(reply, sent) + self.aftermath(before, accepted_write=not rejected(reply))

    def aftermath(self, before: int, accepted_write: bool) -> list[str]:
        problems = [f"server log: {line[:600]}" for line in self.server.new_faults()]
        if not self.server.alive:
            problems.append(f"server died with {self.server.process.returncode}")
        if accepted_write:
            if self.watch.version() != before:
                self.watch.settle()  # let what it started finish before the next baseline
        elif self.watch.version() != before:
            problems.append(f"store changed by a rejected request or a read: {self.watch.counts()}")
        return problems


__all__ = ["Fuzzer"]
