"""What a hostile client costs a running `flowql serve` (issue #14), as figures.

Each scenario starts a fresh server (SQLite file, bearer auth on) and prints one line:

- `refusal`: latency of an unauthenticated POST of the 13 KB document of 995
  `nodes { id }` selections (p50 and max of `--repeat` requests, then ten at once while a
  client polls `/healthz`: the worst `/healthz` latency meanwhile).
- `silent`: runWorkflow(wait: true) throughput of `--runs` runs, first with no
  subscriber, then with `--silent` graphql-transport-ws subscriptions on
  `stageTransitions(workflowID)` whose clients never read a byte, then again with none
  (the ratio is to the mean of the two runs without: the machine is shared); server RSS
  growth over the silent runs, and how many of them the server closed as too slow (1013)
  meanwhile.
- `cancel`: a workflow of `--sends` send stages runs; once `--cancel-after` postings are
  visible, `cancelInstance`: the mutation's latency and how many postings happened after it.

The script drives whichever `flowql` sits next to the Python running it, so the same file
measures an older checkout: `/path/to/old/.venv/bin/python tests/bench/abuse.py`.

    python tests/bench/abuse.py [--only refusal,silent,cancel] [--runs 600] [--silent 2000]
        [--sends 400] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` importable as a script

import aiohttp

from tests.e2e.live_server import LiveServer, flowql_command, live_server

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIELDS_995 = "query Q { instances { " + " ".join(["nodes { id }"] * 995) + " } }"


def fields_995(serial: int) -> str:
    """The document, made distinct by a comment: a cache of parsed or validated documents
    (flowql keeps one) must not hide the cost of a new one."""
    return f"# {serial}\n{FIELDS_995}"


SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:${user}"}},
        "amount": {"amount": "1", "asset": "USD/2"},
    }
}


async def graphql(
    session: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    async with session.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}) as r:
        body: dict[str, Any] = await r.json(content_type=None)
        return body


async def create_workflow(session: aiohttp.ClientSession, url: str, stages: list[dict[str, Any]]) -> str:
    body = await graphql(
        session,
        url,
        "mutation C($s: [StageInput!]!) { createWorkflow(input: {stages: $s}) { id } }",
        {"s": stages},
    )
    return str(body["data"]["createWorkflow"]["id"])


# --- refusal of the 995-field document ----------------------------------------------------------
async def refusal(server: LiveServer, repeat: int) -> dict[str, Any]:
    times: list[float] = []
    async with aiohttp.ClientSession() as anonymous:
        for serial in range(repeat):
            started = time.perf_counter()
            async with anonymous.post(f"{server.url}/graphql", json={"query": fields_995(serial)}) as r:
                await r.read()
            times.append(time.perf_counter() - started)
        health: list[float] = []
        stop = asyncio.Event()

        async def poll() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                async with anonymous.get(f"{server.url}/healthz") as r:
                    await r.read()
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        async def one(serial: int) -> None:
            async with anonymous.post(f"{server.url}/graphql", json={"query": fields_995(serial)}) as r:
                await r.read()

        poller = asyncio.create_task(poll())
        started = time.perf_counter()
        await asyncio.gather(*(one(repeat + i) for i in range(10)))
        ten = time.perf_counter() - started
        stop.set()
        await poller
    return {
        "document_bytes": len(fields_995(0)),
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "ten_at_once_s": round(ten, 2),
        "healthz_worst_ms": round(max(health) * 1000, 1),
    }


# --- silent subscribers ---------------------------------------------------------------------
def _frame(payload: dict[str, Any]) -> bytes:
    """A masked WebSocket text frame (clients must mask)."""
    data = json.dumps(payload).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    n = len(data)
    header = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    return header + mask + masked


async def silent_subscriber(port: int, workflow_id: str) -> asyncio.StreamWriter | None:
    """Subscribe, then never read again: the reader stops at its buffer, TCP windows fill."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Protocol: graphql-transport-ws\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            writer.close()
            return None
        writer.write(_frame({"type": "connection_init", "payload": {"Authorization": f"Bearer {TOKEN}"}}))
        await asyncio.wait_for(reader.read(64), 30)  # connection_ack
        query = "subscription S($w: ID!) { stageTransitions(workflowID: $w) { seq stage status at } }"
        payload = {"query": query, "variables": {"w": workflow_id}}
        writer.write(_frame({"id": "1", "type": "subscribe", "payload": payload}))
        await writer.drain()
        return writer
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        return None


async def runs_per_second(session: aiohttp.ClientSession, url: str, workflow_id: str, runs: int) -> float:
    query = (
        "mutation R($w: ID!, $v: JSON) { runWorkflow(workflowID: $w, variables: $v, wait: true) { status } }"
    )
    pending = iter(range(runs))
    timeout = aiohttp.ClientTimeout(total=120)

    async def worker() -> None:
        for i in pending:
            async with session.post(
                f"{url}/graphql",
                json={"query": query, "variables": {"w": workflow_id, "v": {"user": str(i % 50)}}},
                timeout=timeout,
            ) as r:
                await r.read()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(16)))
    return runs / (time.perf_counter() - started)


async def silent(server: LiveServer, runs: int, count: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        workflow_id = await create_workflow(session, server.url, [SEND, SEND])
        quiet = await runs_per_second(session, server.url, workflow_id, runs)
        writers = [w for w in await _open_many(server.port, workflow_id, count) if w is not None]
        rss_before = server.rss()
        try:
            loud = await runs_per_second(session, server.url, workflow_id, runs)
        except (TimeoutError, aiohttp.ClientError) as error:
            loud = float("nan")
            print(f"  silent runs did not finish: {error!r}", file=sys.stderr)
        rss_after = server.rss()
        closed = await slow_closed(session, server.url)
        for writer in writers:
            writer.transport.abort()
        await asyncio.sleep(1)  # the server drops them
        # The machine is shared: normal is measured before and after, and the ratio is to their mean.
        quiet_after = await runs_per_second(session, server.url, workflow_id, runs)
    return {
        "runs": runs,
        "subscriptions_opened": len(writers),
        "runs_per_s_quiet": round(quiet, 1),
        "runs_per_s_silent": round(loud, 1),
        "runs_per_s_quiet_after": round(quiet_after, 1),
        "ratio": round(loud / ((quiet + quiet_after) / 2), 2),
        "rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
        "closed_slow": closed,
    }


async def slow_closed(session: aiohttp.ClientSession, url: str) -> float:
    """WebSockets the server closed as too slow (1013), from /metrics (NaN if not counted)."""
    async with session.get(f"{url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("flowql_websocket_slow_closed_total "):
                return float(line.split()[1])
    return float("nan")


async def _open_many(port: int, workflow_id: str, count: int) -> list[asyncio.StreamWriter | None]:
    gate = asyncio.Semaphore(64)

    async def one() -> asyncio.StreamWriter | None:
        async with gate:
            return await silent_subscriber(port, workflow_id)

    return await asyncio.gather(*(one() for _ in range(count)))


# --- cancel on a long send chain ------------------------------------------------------------
async def cancel(server: LiveServer, sends: int, after: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        workflow_id = await create_workflow(session, server.url, [SEND] * sends)
        run = await graphql(
            session,
            server.url,
            'mutation R($w: ID!) { runWorkflow(workflowID: $w, variables: {user: "c"}) { id } }',
            {"w": workflow_id},
        )
        instance_id = run["data"]["runWorkflow"]["id"]
        balance = 'query { account(address: "users:c") { balances { amount } } }'

        async def posted() -> int:
            body = await graphql(session, server.url, balance)
            balances = body["data"]["account"]["balances"]
            return int(balances[0]["amount"]) if balances else 0

        while await posted() < after:
            await asyncio.sleep(0.01)
        at_cancel = await posted()
        started = time.perf_counter()
        mutation = "mutation X($id: ID!) { cancelInstance(id: $id) { status } }"
        answer = await graphql(session, server.url, mutation, {"id": instance_id})
        latency = time.perf_counter() - started
        await asyncio.sleep(1.0)
        final = await posted()
    errors = answer.get("errors") or []
    return {
        "sends": sends,
        "cancel_ms": round(latency * 1000, 1),
        "answer": errors[0].get("message") if errors else answer["data"]["cancelInstance"]["status"],
        "posted_at_cancel": at_cancel,
        "posted_after_cancel": final - at_cancel,
    }


def _serve_help() -> str:
    return subprocess.run([*flowql_command(), "serve", "--help"], capture_output=True, text=True).stdout


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="refusal,silent,cancel")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--silent", type=int, default=2000)
    parser.add_argument("--sends", type=int, default=400)
    parser.add_argument("--cancel-after", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    flags: tuple[str, ...] = ("--auth-token", f"{TOKEN}:orchestration:read,orchestration:write")
    if "--max-subscriptions-per-token" in _serve_help():  # one token opens them all
        flags += ("--max-subscriptions-per-token", str(max(args.silent, 1)))
    results: dict[str, Any] = {"load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            with live_server(Path(tmp) / name, *flags, ready_timeout=60) as server:
                if name == "refusal":
                    results[name] = await refusal(server, args.repeat)
                elif name == "silent":
                    results[name] = await silent(server, args.runs, args.silent)
                elif name == "cancel":
                    results[name] = await cancel(server, args.sends, args.cancel_after)
            if not args.json:
                print(f"{name}: {results[name]}", flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
