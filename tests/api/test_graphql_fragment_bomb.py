"""A fragment fan-out is answered at once (found by tests/e2e/test_graphql_fuzz.py: the
depth and alias limiters walked every spread; 10**6 expansions took ~13 s of blocked loop)."""

from __future__ import annotations

import time

from tests.api.client import Api


def fan_out(levels: int, leaf: str) -> str:
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    fragments += [
        f"fragment F{i} on Query {{ {' '.join([f'...F{i - 1}'] * 10)} }}" for i in range(1, levels + 1)
    ]
    return " ".join(fragments) + f" query Bomb {{ ...F{levels} }}"


async def test_fan_out_without_aliases_runs(api: Api) -> None:
    started = time.perf_counter()
    data = await api.query(fan_out(6, "serverInfo { version }"))
    assert time.perf_counter() - started < 2.0
    assert data["serverInfo"]["version"]


async def test_fan_out_of_aliases_is_refused(api: Api) -> None:
    started = time.perf_counter()
    error = await api.error(fan_out(6, "a: serverInfo { version }"))
    assert time.perf_counter() - started < 2.0
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"] == f"{10**6} aliases found. Allowed: 30"
