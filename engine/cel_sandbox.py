"""Worker processes that evaluate the CEL expressions too costly to run on the event loop.

The cel package holds the GIL while it evaluates, so neither a thread nor `asyncio.wait_for`
can interrupt a runaway comprehension: only another process can, and only killing it stops
the work. `Sandbox` keeps a few long-lived workers (`python -m flowql.engine.cel_sandbox`)
speaking one JSON line each way per evaluation; an evaluation that passes the timeout kills
its worker (the next one is spawned on demand) and becomes an `Outcome` error. A worker
caps its address space, reads until its stdin closes, and so also ends when we die.

One slow expression must not delay the others: each expression (by its source) has one
evaluation in flight and one waiting at most, so it holds one worker at a time; any more
of its evaluations are refused at once. Waiting for a worker is bounded by the timeout too,
and so is the number of evaluations waiting. An evaluation thus answers within three
timeouts, and every one that gives no answer is refused or timed out: counted (the
listeners, a metric) and logged (refusals at most once per `_LOG_EVERY` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, cast

from .cel import Kind, Outcome, evaluate, make_context

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.0
DEFAULT_WORKERS = 2
MEMORY_LIMIT = 1 << 30
_LINE_LIMIT = 1 << 24
_PROGRAM_CACHE = 1024
_BOOT_TIMEOUT = 30.0
_READY = b"ready\n"
MAX_WAITING = 64
"""Evaluations waiting for a worker; more are refused at once."""
_LOG_EVERY = 10.0

Refusal = Literal["timeout", "busy", "failed"]
"""Why an evaluation gave no answer: it ran past the timeout (its worker was killed), it
found its expression or every worker busy, or the worker died (its memory limit)."""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def spawn(cls) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # no cwd on sys.path: a local `flowql/` folder must not shadow the package
            "-m",
            __name__,
            str(MEMORY_LIMIT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        worker = cls(process)
        try:  # boot (interpreter + cel import) must not count against an evaluation's timeout
            assert process.stdout is not None
            if await asyncio.wait_for(process.stdout.readline(), _BOOT_TIMEOUT) != _READY:
                raise EOFError("sandbox worker failed to start")
        except BaseException:
            await worker.close(kill=True)
            raise
        return worker

    async def call(self, request: bytes) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(request)
        await stdin.drain()
        line = await stdout.readline()
        if not line:
            raise EOFError("sandbox worker exited")
        return cast(dict[str, Any], json.loads(line))

    async def close(self, *, kill: bool) -> None:
        if self.process.returncode is None:
            if kill:
                self.process.kill()
            elif self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 5.0)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


class _Lane:
    """The evaluations of one expression: one in flight, one waiting at most."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class Sandbox:
    """At most `workers` evaluations at once, each bounded by `timeout` seconds."""

    def __init__(self, *, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._slots = asyncio.Semaphore(workers)
        self._waiting = 0
        self._lanes: dict[str, _Lane] = {}
        self._idle: list[_Worker] = []
        self._closed = False
        self._listeners: list[Callable[[Refusal], None]] = []
        self._unlogged = 0
        self._logged_at = 0.0

    def add_listener(self, listener: Callable[[Refusal], None]) -> None:
        """Told of each evaluation refused or timed out, with the reason."""
        self._listeners.append(listener)

    async def evaluate(
        self, kind: Kind, source: str, payload_json: str, links: dict[str, Any] | None = None
    ) -> Outcome:
        """`links`: the resources the expression's `link()` calls resolved, by call number."""
        lane = self._lanes.get(source)
        if lane is None:
            lane = self._lanes[source] = _Lane()
        if lane.users >= 2:
            return self._refuse("busy", source, "its earlier evaluations are still running")
        lane.users += 1
        try:
            return await self._in_lane(lane, kind, source, payload_json, links)
        finally:
            lane.users -= 1
            if not lane.users:
                del self._lanes[source]

    async def _in_lane(
        self, lane: _Lane, kind: Kind, source: str, payload_json: str, links: dict[str, Any] | None
    ) -> Outcome:
        try:
            async with asyncio.timeout(self.timeout):
                await lane.lock.acquire()
        except TimeoutError:
            return self._refuse("busy", source, f"its earlier evaluation held it over {self.timeout:g}s")
        try:
            if self._waiting >= MAX_WAITING:
                return self._refuse("busy", source, f"{MAX_WAITING} evaluations wait for a worker")
            self._waiting += 1
            try:
                async with asyncio.timeout(self.timeout):
                    await self._slots.acquire()
            except TimeoutError:
                return self._refuse("busy", source, f"no worker free within {self.timeout:g}s")
            finally:
                self._waiting -= 1
            try:
                return await self._run(kind, source, payload_json, links)
            finally:
                self._slots.release()
        finally:
            lane.lock.release()

    async def _run(self, kind: Kind, source: str, payload_json: str, links: dict[str, Any] | None) -> Outcome:
        header = {"kind": kind, "source": source} | ({} if links is None else {"links": links})
        request = (json.dumps(header) + "\n" + payload_json + "\n").encode()
        if self._closed:
            return Outcome(error="evaluation refused: the trigger service is stopping")
        worker = self._idle.pop() if self._idle else await _Worker.spawn()
        try:
            answer = await asyncio.wait_for(worker.call(request), self.timeout)
        except TimeoutError:
            log.warning("CEL evaluation timed out, worker killed", extra={"source": source[:200]})
            await worker.close(kill=True)
            self._tell("timeout")
            return Outcome(error=f"evaluation exceeded {self.timeout:g}s")
        except (EOFError, ConnectionError, ValueError) as exc:
            log.warning("CEL sandbox worker died", extra={"source": source[:200], "error": str(exc)})
            await worker.close(kill=True)
            self._tell("failed")
            return Outcome(error=f"evaluation failed: {exc} (memory limit exceeded?)")
        except BaseException:
            await worker.close(kill=True)
            raise
        self._idle.append(worker)
        return Outcome(value=answer.get("value"), error=answer.get("error"))

    def _refuse(self, reason: Refusal, source: str, why: str) -> Outcome:
        self._tell(reason)
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY:
            log.warning(
                "CEL evaluations refused: %s",
                why,
                extra={"source": source[:200], "refused": self._unlogged},
            )
            self._logged_at, self._unlogged = now, 0
        return Outcome(error=f"evaluation refused: {why}")

    def _tell(self, reason: Refusal) -> None:
        for listener in self._listeners:
            listener(reason)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(worker.close(kill=False) for worker in idle))


# --- the worker process ----------------------------------------------------------------


def _serve(memory_limit: int) -> None:
    import cel

    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    programs: OrderedDict[str, cel.Program] = OrderedDict()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(_READY)
    stdout.flush()
    while True:
        header, body = stdin.readline(), stdin.readline()
        if not header or not body:
            return
        try:
            request = json.loads(header)
            kind, source = request["kind"], request["source"]
            program = programs.pop(source, None) or cel.compile(source)
            programs[source] = program
            if len(programs) > _PROGRAM_CACHE:
                programs.popitem(last=False)
            outcome = evaluate(kind, program, make_context(json.loads(body), request.get("links")))
            answer = {"value": outcome.value, "error": outcome.error}
        except Exception as exc:
            answer = {"value": None, "error": f"evaluation failed: {exc}"}
        stdout.write(json.dumps(answer).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_LIMIT)
