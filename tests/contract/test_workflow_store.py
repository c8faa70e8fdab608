"""`WorkflowStore`: workflows inserted once, read by id or in pages, soft-deleted.

Run on every backend by the `store` fixture (conftest.py)."""

from __future__ import annotations

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.pagination import PageRequest
from flowql.engine.store import WorkflowStore

from .factories import at, workflow


async def test_workflow_crud_and_soft_delete(store: WorkflowStore) -> None:
    first, second = workflow(1), workflow(2)
    for wf in (first, second):
        await store.insert_workflow(wf)
    assert await store.get_workflow(first.id) == first
    assert await store.get_workflow("missing") is None
    assert await store.get_workflows([first.id, second.id, "missing"]) == {first.id: first, second.id: second}
    assert await store.delete_workflow(first.id, at(10))
    assert not await store.delete_workflow(first.id, at(11))
    assert not await store.delete_workflow("missing", at(11))
    listed = await store.list_workflows(PageRequest(10))
    assert [w.id for w in listed.items] == [second.id]
    deleted = await store.get_workflow(first.id)
    assert deleted is not None and deleted.deleted_at == at(10)


async def test_duplicate_workflow_ids_are_conflicts(store: WorkflowStore) -> None:
    first = workflow(1, ident="w1")
    await store.insert_workflow(first)
    with pytest.raises(FlowqlError) as caught:
        await store.insert_workflow(workflow(2, "other", ident="w1"))
    assert caught.value.code is ErrorCode.CONFLICT
    assert await store.get_workflow("w1") == first


async def test_get_workflows_ignores_duplicates_and_empty_requests(store: WorkflowStore) -> None:
    record = workflow(ident="w1")
    await store.insert_workflow(record)
    assert await store.get_workflows(["w1", "w1", "missing"]) == {"w1": record}
    assert await store.get_workflows([]) == {}
