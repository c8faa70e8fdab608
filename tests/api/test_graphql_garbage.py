"""A GraphQL operation over HTTP is freed by reference counting, not left to the cyclic
collector (schema/execution.py): its executor, context and DataLoaders are never in a cycle."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from graphql.execution import Executor

from flowql.schema.context import Context
from tests.api.conftest import ApiFactory
from tests.api.flows import create_workflow, run, send_stage


@contextmanager
def cyclic_garbage() -> Iterator[list[object]]:
    """What the cyclic collector would free of what the block allocated."""
    gc.collect()
    found: list[object] = []
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_operations_leave_no_cycles(make_api: ApiFactory) -> None:
    api = await make_api()
    workflow = await create_workflow(api, [send_stage(1)])
    await run(api, workflow, wait=True)  # caches and lazy imports are warm
    with cyclic_garbage() as garbage:
        for _ in range(3):
            await run(api, workflow, wait=True)
            await api.query("query($id: ID!) { workflow(id: $id) { id name stages } }", {"id": workflow})
    kept = [type(o).__name__ for o in garbage if isinstance(o, Executor | Context)]
    assert kept == [], f"{len(kept)} executors/contexts only the cyclic collector frees"
