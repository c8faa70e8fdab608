"""A flowql server configured as Formance runs: unbounded retries (at test-sized intervals).

Tests in `test_rest_formance_*.py` follow Formance's own integration tests
(formancehq/stack `tests/integration/suite/orchestration-*.go`): they drive the public API
through `formance-sdk-python` and assert only what Formance itself answers, so each would
pass against a Formance Orchestration server too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from aiohttp import web

from flowql.app import create_app
from flowql.config import Config
from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import EngineConfig
from tests.api.rest_server import RestServer, body, serve

T = TypeVar("T")
FORMANCE_RETRY = RetryPolicy(initial_interval=0.02, max_interval=0.05)
"""No attempt limit, as Formance; Formance's 1 s x2 intervals shrunk for tests."""


def formance_app() -> web.Application:
    return create_app(
        Config(store="sqlite:///:memory:", run_timeout=5.0),
        engine_config=EngineConfig(retry=FORMANCE_RETRY, run_timeout=5.0),
    )


@pytest.fixture
def formance() -> Iterator[RestServer]:
    with serve(formance_app) as server:
        yield server


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Gomega's Eventually: poll until `probe()` answers something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def account(address: str, **extra: Any) -> dict[str, Any]:
    return {"account": {"id": address, **extra}}


def send(
    source: dict[str, Any], destination: dict[str, Any], amount: Any, asset: str = "EUR/2", **extra: Any
) -> dict[str, Any]:
    return {
        "send": {
            "source": source,
            "destination": destination,
            "amount": {"amount": amount, "asset": asset},
            **extra,
        }
    }


def create(v2: Any, *stages: dict[str, Any], **config: Any) -> str:
    response = v2.create_workflow(request={"name": "wf", "stages": list(stages), **config})
    assert response.status_code == 201
    return str(body(response).data.id)


def run(v2: Any, workflow_id: str, **variables: str) -> str:
    response = v2.run_workflow(request={"workflow_id": workflow_id, "request_body": variables})
    assert response.status_code == 201
    return str(body(response).data.id)


def stage_history(v2: Any, instance_id: str, number: int = 0) -> list[Any]:
    response = v2.get_instance_stage_history(request={"instance_id": instance_id, "number": number})
    return list(body(response).data)


def instance(v2: Any, instance_id: str) -> Any:
    return body(v2.get_instance(request={"instance_id": instance_id})).data


def terminated(v2: Any, instance_id: str) -> Any:
    return eventually(lambda: (found := instance(v2, instance_id)).terminated and found)
