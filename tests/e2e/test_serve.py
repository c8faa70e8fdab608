"""`flowql serve` as a real process: healthy, runs a workflow over GraphQL, streams its
stages over WebSocket, logs JSON lines, and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.e2e.live_server import flowql_command, free_port

pytestmark = pytest.mark.timeout(60)

STAGES = [
    {"delay": {"duration": "200ms"}},
    {"wait_event": {"event": "approved"}},
    {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"account": {"id": "users:${user}"}},
            "amount": {"amount": "${amount}", "asset": "USD/2"},
        }
    },
]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"flowql serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"not healthy after 15 s:\n{log.read_text()[-3000:]}")


def test_serve_runs_a_workflow_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
    env["FLOWQL_LOG_LEVEL"] = "INFO"  # env and flags together
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*flowql_command(), "serve", "--port", str(port), "--store", f"sqlite:///{tmp_path / 'e2e.db'}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
        try:
            _wait_healthy(url, proc, log)
            asyncio.run(_scenario(url))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    messages = [entry["msg"] for entry in lines]
    assert "flowql ready" in messages and "flowql stopped" in messages
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in lines)


async def _scenario(url: str) -> None:
    async with aiohttp.ClientSession() as http:

        async def graphql(query: str, **variables: object) -> dict:  # type: ignore[type-arg]
            async with http.post(f"{url}/graphql", json={"query": query, "variables": variables}) as resp:
                body = await resp.json()
            assert not body.get("errors"), body
            return body["data"]  # type: ignore[no-any-return]

        created = await graphql(
            "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id } }",
            w={"name": "e2e", "stages": STAGES},
        )
        workflow_id = created["createWorkflow"]["id"]
        started = await graphql(
            "mutation($id: ID!, $v: JSON) { runWorkflow(workflowID: $id, variables: $v) { id status } }",
            id=workflow_id,
            v={"user": "42", "amount": "1500"},
        )
        instance_id = started["runWorkflow"]["id"]
        assert started["runWorkflow"]["status"] == "RUNNING"

        transport = WebsocketsTransport(url=f"ws://127.0.0.1:{url.rsplit(':', 1)[1]}/graphql")
        seen: list[tuple[int, str, str]] = []
        async with Client(transport=transport) as session:
            subscription = gql(
                "subscription($id: ID!) { stageTransitions(instanceID: $id) { stage status instanceStatus } }"
            )
            async for result in session.subscribe(subscription, variable_values={"id": instance_id}):
                t = result["stageTransitions"]
                seen.append((t["stage"], t["status"], t["instanceStatus"]))
                if (t["stage"], t["status"]) == (1, "WAITING"):
                    approve = 'mutation($id: ID!) { sendEvent(instanceID: $id, name: "approved") { id } }'
                    await graphql(approve, id=instance_id)
        assert seen[-1] == (2, "SUCCEEDED", "SUCCEEDED")
        assert (1, "SUCCEEDED", "RUNNING") in seen

        final = await graphql(
            """query($id: ID!) { instance(id: $id) { status stages { index status } }
                 account(address: "users:42") { balances { asset amount } } }""",
            id=instance_id,
        )
        assert final["instance"]["status"] == "SUCCEEDED"
        assert final["account"]["balances"] == [{"asset": "USD/2", "amount": "1500"}]
        async with http.get(f"{url}/metrics") as resp:
            assert 'flowql_instances{status="SUCCEEDED"} 1.0' in await resp.text()
