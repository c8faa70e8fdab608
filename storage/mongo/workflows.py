"""`WorkflowStore` on MongoDB: one document per workflow, soft deletes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import conflict
from flowql.engine.models import Workflow
from flowql.engine.pagination import Page, PageRequest

from . import pages
from .codec import Doc, encode, from_doc, to_doc
from .server import Server, soft_delete

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


class MongoWorkflowStore:
    _server: Server
    _workflows: AsyncCollection[Doc]

    async def insert_workflow(self, workflow: Workflow) -> None:
        try:
            await self._workflows.insert_one(to_doc(workflow))
        except DuplicateKeyError:
            raise conflict(f"workflow {workflow.id!r} already exists") from None

    async def get_workflow(self, workflow_id: str) -> Workflow | None:
        doc = await self._workflows.find_one({"_id": workflow_id})
        return from_doc(Workflow, doc) if doc else None

    async def get_workflows(self, workflow_ids: Sequence[str]) -> dict[str, Workflow]:
        docs = await self._workflows.find({"_id": {"$in": list(set(workflow_ids))}}).to_list(None)
        return {doc["_id"]: from_doc(Workflow, doc) for doc in docs}

    async def list_workflows(self, page: PageRequest) -> Page[Workflow]:
        return await pages.page(self._workflows, Workflow, page, pages.created, dict(pages.LIVE))

    async def delete_workflow(self, workflow_id: str, at: datetime) -> bool:
        changes = {"deleted_at": encode(at), "updated_at": encode(at)}
        return await soft_delete(self._workflows, workflow_id, changes, self._server)
