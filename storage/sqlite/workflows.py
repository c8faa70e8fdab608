"""`WorkflowStore` on SQLite: one row per workflow, soft deletes."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from flowql.engine.clock import to_iso
from flowql.engine.errors import conflict
from flowql.engine.models import Workflow
from flowql.engine.pagination import Page, PageRequest

from ..names import WORKFLOWS
from . import rows as records
from .connection import SqliteConnection


class SqliteWorkflowStore:
    _db: SqliteConnection

    async def insert_workflow(self, workflow: Workflow) -> None:
        def work(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    f"INSERT INTO {WORKFLOWS} (id, created_at, deleted_at, doc) VALUES (?, ?, ?, ?)",
                    (workflow.id, to_iso(workflow.created_at), None, workflow.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise conflict(f"workflow {workflow.id!r} already exists") from None

        await self._db.write(work)

    async def get_workflow(self, workflow_id: str) -> Workflow | None:
        return await self._db.run(lambda c: records.one(c, WORKFLOWS, Workflow, workflow_id))

    async def get_workflows(self, workflow_ids: Sequence[str]) -> dict[str, Workflow]:
        return await self._db.run(lambda c: records.by_ids(c, WORKFLOWS, Workflow, workflow_ids))

    async def list_workflows(self, page: PageRequest) -> Page[Workflow]:
        return await self._db.run(
            lambda c: records.page(
                c, WORKFLOWS, Workflow, page, records.created, where=["deleted_at IS NULL"]
            )
        )

    async def delete_workflow(self, workflow_id: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            workflow = records.one(c, WORKFLOWS, Workflow, workflow_id)
            if workflow is None or workflow.deleted_at is not None:
                return False
            deleted = workflow.model_copy(update={"deleted_at": at, "updated_at": at})
            c.execute(
                f"UPDATE {WORKFLOWS} SET deleted_at = ?, doc = ? WHERE id = ?",
                (to_iso(at), deleted.model_dump_json(), workflow_id),
            )
            return True

        return await self._db.write(work)
