"""Several `flowql serve` replicas on one MongoDB database, for the scale-out tests and bench.

`Replica` is one child process with its own log file: start, SIGKILL, SIGSTOP/SIGCONT,
restart with the same node id. `Api` speaks GraphQL over HTTP; `collect_transitions`
follows one instance's subscription over graphql-transport-ws until it completes. The
server comes from the `mongodb_uri` session fixture (tests/support/services.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.live_server import flowql_command, free_port, is_fault


@dataclass
class Replica:
    """One `flowql serve` on `store`; `start()` again after `kill()` restarts it (same node id)."""

    node_id: str
    store: str
    workdir: Path
    lease_ttl: float = 3.0
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    generation: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.node_id}.{self.generation}.log"

    def start(self, *, wait_ready: bool = True, env: dict[str, str] | None = None) -> None:
        self.generation += 1
        self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
        environ.update({"FLOWQL_LOG_LEVEL": "INFO", **self.extra_env, **(env or {})})
        command = [
            *flowql_command(),
            "serve",
            "--port",
            str(self.port),
            "--store",
            self.store,
            "--node-id",
            self.node_id,
            "--lease-ttl",
            f"{self.lease_ttl:g}",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, env=environ
            )
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.node_id} exited {self.process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.node_id} not ready after {timeout} s: {self.tail()}")

    def readyz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            text = response.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM (after SIGCONT, in case it is stopped) and wait; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def log_entries(self) -> list[dict[str, Any]]:
        """Every JSON line of every generation's log."""
        entries: list[dict[str, Any]] = []
        for path in sorted(self.workdir.glob(f"{self.node_id}.*.log")):
            for line in path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    def faults(self) -> list[str]:
        lines: list[str] = []
        for path in sorted(self.workdir.glob(f"{self.node_id}.*.log")):
            lines += [line for line in path.read_text(errors="replace").splitlines() if is_fault(line)]
        return lines


class Api:
    """GraphQL over HTTP against one replica, on a shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, replica: Replica) -> None:
        self.session = session
        self.replica = replica

    async def call(self, query: str, **variables: Any) -> dict[str, Any]:
        async with self.session.post(
            f"{self.replica.url}/graphql", json={"query": query, "variables": variables}
        ) as response:
            body = await response.json()
        if body.get("errors"):
            raise RuntimeError(f"{self.replica.node_id}: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    async def create_workflow(self, stages: list[dict[str, Any]]) -> str:
        """Through the Formance REST API, which takes stages as JSON."""
        url = f"{self.replica.url}/api/orchestration/v2/workflows"
        async with self.session.post(url, json={"stages": stages}) as response:
            body = await response.json()
        if response.status != 201:
            raise RuntimeError(f"{self.replica.node_id}: {response.status} {body}")
        return str(body["data"]["id"])

    async def run(self, workflow_id: str, variables: dict[str, str], *, wait: bool = False) -> dict[str, Any]:
        data = await self.call(
            "mutation($w: ID!, $v: JSON, $wait: Boolean!) {"
            " runWorkflow(workflowID: $w, variables: $v, wait: $wait) { id status } }",
            w=workflow_id,
            v=variables,
            wait=wait,
        )
        return dict(data["runWorkflow"])

    async def send_event(self, instance_id: str, name: str) -> None:
        await self.call(
            "mutation($i: ID!, $n: String!) { sendEvent(instanceID: $i, name: $n) { id } }",
            i=instance_id,
            n=name,
        )

    async def instance(self, instance_id: str) -> dict[str, Any]:
        data = await self.call("query($i: ID!) { instance(id: $i) { id status } }", i=instance_id)
        return dict(data["instance"])


TRANSITIONS = """subscription($i: ID!) { stageTransitions(instanceID: $i) {
  instanceID seq stage status instanceStatus at } }"""


async def collect_transitions(
    session: aiohttp.ClientSession,
    replica: Replica,
    instance_id: str,
    *,
    ready: asyncio.Event | None = None,
    arrivals: dict[int, float] | None = None,
) -> list[dict[str, Any]]:
    """Subscribe on `replica` and return every transition until the stream completes;
    `arrivals` gets each one's wall-clock arrival time by `seq` (the bench)."""
    got: list[dict[str, Any]] = []
    async with session.ws_connect(replica.ws_url, protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json())["type"] == "connection_ack"
        payload = {"query": TRANSITIONS, "variables": {"i": instance_id}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        if ready is not None:
            ready.set()
        async for message in ws:
            body = json.loads(message.data)
            if body["type"] == "next":
                if body["payload"].get("errors"):
                    raise RuntimeError(str(body["payload"]["errors"]))
                got.append(body["payload"]["data"]["stageTransitions"])
                if arrivals is not None:
                    arrivals[got[-1]["seq"]] = time.time()
            elif body["type"] == "complete":
                return got
            elif body["type"] == "error":
                raise RuntimeError(str(body))
    raise RuntimeError(f"{replica.node_id} closed the subscription ({ws.close_code}) after {len(got)}")


__all__ = ["Api", "Replica", "collect_transitions"]
