"""The handlers of both API versions: each parses, calls one engine service, serializes.

v1 and v2 differ only in how a list is read and written (v2: one cursor page; v1: the
whole list in `{"data": [...]}`): `V1` and `V2` supply `list_query` and `render_list`.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from importlib import metadata
from typing import Any, TypeVar

from aiohttp import web

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import Activity, Instance, Trigger, TriggerOccurrence
from flowql.engine.pagination import Page, PageRequest
from flowql.engine.runtime import Engine
from flowql.engine.store import MAX_ROWS

from . import serialize
from .cursors import ListRequest
from .parse import (
    document_object,
    json_object,
    optional_str,
    path_int,
    query_bool,
    required_str,
    string_map,
    strings,
)

T = TypeVar("T")
JSON = dict[str, Any]
Fetch = Callable[[PageRequest], Awaitable[Page[T]]]
ToJson = Callable[[Sequence[T]], Awaitable[list[JSON]]]
MAX_REST_HISTORY = 10 * MAX_ROWS
"""Entries of a stage history REST answers at most (Formance's is one unpaged list)."""


def package_version() -> str:
    try:
        return metadata.version("flowql")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def uuid_param(request: web.Request, name: str) -> str:
    """A path id that must be a UUID (Formance validates `required,uuid`: 400 otherwise)."""
    text = request.match_info[name]
    try:
        uuid.UUID(text)
    except ValueError:
        raise FlowqlError(
            ErrorCode.VALIDATION, f"{name}: must be a UUID, got {text[:64]!r}", field=name
        ) from None
    return text


def ok(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


class Handlers(ABC):
    V2 = False
    """v2 answers CreateTransaction's output as a list of transactions, v1 as one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.orchestration = engine.orchestration

    # --- what a version decides ---------------------------------------------------------
    @abstractmethod
    def list_query(
        self, request: web.Request, *, texts: tuple[str, ...] = (), flags: tuple[str, ...] = ()
    ) -> ListRequest: ...

    @abstractmethod
    async def render_list(self, query: ListRequest, fetch: Fetch[T], to_json: ToJson[T]) -> web.Response: ...

    # --- server -------------------------------------------------------------------------
    async def server_info(self, request: web.Request) -> web.Response:
        return ok(serialize.server_info(package_version()))

    # --- workflows ----------------------------------------------------------------------
    async def list_workflows(self, request: web.Request) -> web.Response:
        query = self.list_query(request)

        async def to_json(items: Sequence[Any]) -> list[JSON]:
            return [serialize.workflow(w) for w in items]

        return await self.render_list(query, self.orchestration.list_workflows, to_json)

    async def create_workflow(self, request: web.Request) -> web.Response:
        body = await document_object(request)
        created = await self.orchestration.create_workflow(
            name=optional_str(body, "name"), stages=body.get("stages"), retry=body.get("retry")
        )
        return ok(serialize.data(serialize.workflow(created)), 201)

    async def get_workflow(self, request: web.Request) -> web.Response:
        """A deleted workflow is still read, with its `deletedAt`, as Formance reads it."""
        found = await self.orchestration.read_workflow(request.match_info["flowId"])
        return ok(serialize.data(serialize.workflow(found)))

    async def delete_workflow(self, request: web.Request) -> web.Response:
        await self.orchestration.delete_workflow(uuid_param(request, "flowId"))
        return no_content()

    async def run_workflow(self, request: web.Request) -> web.Response:
        variables = strings(await json_object(request, required=False), field="variables")
        started = await self.orchestration.run_workflow(
            request.match_info["workflowID"], variables, wait=query_bool(request, "wait")
        )
        return ok(serialize.data((await self._instances([started]))[0]), 201)

    # --- instances ----------------------------------------------------------------------
    async def list_instances(self, request: web.Request) -> web.Response:
        query = self.list_query(request, texts=("workflowID",), flags=("running",))

        def fetch(page: PageRequest) -> Awaitable[Page[Instance]]:
            running = True if query.flag("running") else None  # Formance: `false` lists every instance
            listing: Awaitable[Page[Instance]] = self.orchestration.list_instances(
                page, workflow_id=query.text("workflowID"), running=running
            )
            return listing

        return await self.render_list(query, fetch, self._instances)

    async def get_instance(self, request: web.Request) -> web.Response:
        found = await self.orchestration.get_instance(request.match_info["instanceID"])
        return ok(serialize.data((await self._instances([found]))[0]))

    async def instance_history(self, request: web.Request) -> web.Response:
        found = await self.orchestration.get_instance(request.match_info["instanceID"])
        (owner,) = await self.orchestration.load_workflows([found.workflow_id])
        return ok(serialize.data(serialize.instance_history(found, owner)))

    async def stage_history(self, request: web.Request) -> web.Response:
        try:
            activities = await self._whole_stage_history(
                request.match_info["instanceID"], path_int(request, "number")
            )
        except FlowqlError as error:
            if error.field != "stage":
                raise
            # Formance answers 404 for a stage the workflow does not have.
            raise FlowqlError(ErrorCode.NOT_FOUND, error.message, field="number") from None
        return ok(serialize.data([serialize.activity(a, v2=self.V2) for a in activities]))

    async def _whole_stage_history(self, instance_id: str, stage: int) -> list[Activity]:
        """Formance's stage history is one list: read page after page, up to
        `MAX_REST_HISTORY` entries (the first ones)."""
        activities: list[Activity] = []
        while len(activities) < MAX_REST_HISTORY:
            page = await self.orchestration.stage_history(instance_id, stage, after=len(activities))
            activities += page
            if len(page) < MAX_ROWS:
                break
        return activities[:MAX_REST_HISTORY]

    async def send_event(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        await self.orchestration.send_event(request.match_info["instanceID"], required_str(body, "name"))
        return no_content()

    async def cancel(self, request: web.Request) -> web.Response:
        await self.orchestration.cancel_instance(request.match_info["instanceID"])
        return no_content()

    async def _instances(self, instances: Sequence[Instance]) -> list[JSON]:
        """Instances with their workflow, read in one batch."""
        owners = await self.orchestration.load_workflows(sorted({i.workflow_id for i in instances}))
        by_id = {w.id: w for w in owners if w is not None}
        return [serialize.instance(i, by_id.get(i.workflow_id)) for i in instances]

    # --- triggers -----------------------------------------------------------------------
    async def list_triggers(self, request: web.Request) -> web.Response:
        query = self.list_query(request, texts=("name",))

        async def to_json(items: Sequence[Any]) -> list[JSON]:
            return [serialize.trigger(t) for t in items]

        def fetch(page: PageRequest) -> Awaitable[Page[Trigger]]:
            listing: Awaitable[Page[Trigger]] = self.engine.triggers.list_triggers(
                page, name=query.text("name")
            )
            return listing

        return await self.render_list(query, fetch, to_json)

    async def create_trigger(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        created = await self.engine.triggers.create_trigger(
            name=optional_str(body, "name"),
            event=required_str(body, "event"),
            workflow_id=required_str(body, "workflowID"),
            version=optional_str(body, "version"),
            filter=optional_str(body, "filter"),
            vars=string_map(body, "vars"),
        )
        return ok(serialize.data(serialize.trigger(created)), 201)

    async def get_trigger(self, request: web.Request) -> web.Response:
        found = await self.engine.triggers.get_trigger(request.match_info["triggerID"])
        return ok(serialize.data(serialize.trigger(found)))

    async def delete_trigger(self, request: web.Request) -> web.Response:
        await self.engine.triggers.delete_trigger(request.match_info["triggerID"])
        return no_content()

    async def list_occurrences(self, request: web.Request) -> web.Response:
        query = self.list_query(request)
        trigger_id = request.match_info["triggerID"]

        def fetch(page: PageRequest) -> Awaitable[Page[TriggerOccurrence]]:
            listing: Awaitable[Page[TriggerOccurrence]] = self.engine.triggers.list_occurrences(
                trigger_id, page
            )
            return listing

        return await self.render_list(query, fetch, self._occurrences)

    async def test_trigger(self, request: web.Request) -> web.Response:
        payload = await json_object(request)
        result = await self.engine.triggers.test_trigger(request.match_info["triggerID"], payload)
        return ok(serialize.data(serialize.trigger_test(result)))

    async def _occurrences(self, occurrences: Sequence[TriggerOccurrence]) -> list[JSON]:
        """Occurrences with the instance each started, read in one batch."""
        ids = sorted({o.workflow_instance_id for o in occurrences if o.workflow_instance_id})
        started = {i.id: i for i in await self.orchestration.load_instances(ids) if i is not None}
        return [serialize.occurrence(o, started.get(o.workflow_instance_id or "")) for o in occurrences]


__all__ = ["Handlers", "no_content", "ok", "package_version"]
