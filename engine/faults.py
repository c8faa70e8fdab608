"""Named crash points for recovery tests (after DBOS's `_debug_trigger`).

Production code calls `crash_point("after-post")` at the places where a crash is most
interesting. Tests arm a point in-process with `arm(name, action)`, or in a child process
with `FLOWQL_CRASH_AT=name:n` which kills the process with SIGKILL the n-th time it is hit
(`name:n:stop` sends SIGSTOP instead: a replica frozen mid-step, for fencing tests).
Disarmed points cost one dict lookup.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

_armed: dict[str, Callable[[], None]] = {}


def _from_env() -> None:
    spec = os.environ.get("FLOWQL_CRASH_AT")
    if not spec:
        return
    name, _, rest = spec.partition(":")
    count, _, action = rest.partition(":")
    remaining = [int(count or "1")]
    sent = signal.SIGSTOP if action == "stop" else signal.SIGKILL

    def kill() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:  # once: a stopped process resumed by SIGCONT carries on
            os.kill(os.getpid(), sent)

    _armed[name] = kill


def arm(name: str, action: Callable[[], None]) -> None:
    _armed[name] = action


def disarm(name: str | None = None) -> None:
    if name is None:
        _armed.clear()
    else:
        _armed.pop(name, None)


def crash_point(name: str) -> None:
    action = _armed.get(name)
    if action is not None:
        action()


_from_env()
