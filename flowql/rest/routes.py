"""The operation table: every route of v1 and v2, its handler, scope and OpenAPI facts.

One table serves both versions: v2 operation ids are v1's with a `v2` prefix (as in
Formance), v2 lists take `cursor` and `pageSize`, and `testTrigger` exists in v2 only.
The routes registered and the OpenAPI documents are both built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from aiohttp.typedefs import Handler

from flowql.auth import scope_for_method
from flowql.config import READ, WRITE

from .handlers import Handlers
from .parse import YAML

Version = Literal[1, 2]

JSON: Final = "application/json"


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter and its OpenAPI schema."""

    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    """Full path, e.g. `/api/orchestration/v2/workflows/{flowId}`."""
    operation_id: str
    summary: str
    handler: Handler
    status: int
    response: str | None
    """Component schema of the success body (None: no body)."""
    request: str | None
    """Component schema of the request body."""
    query: tuple[Param, ...]
    creates: tuple[str, ...] = ()
    """Path parameters of other operations that `data.id` of this one's response fills."""
    media_types: tuple[str, ...] = (JSON,)
    """Media types of the request body."""

    @property
    def scope(self) -> str:
        return scope_for_method(self.method)


PAGING: Final = (
    Param("cursor", {"type": "string"}, "Opaque cursor from `next` or `previous`; it carries the filters."),
    Param(
        "pageSize",
        {"type": "integer", "format": "int64", "minimum": 0},
        "Results per page: 15 by default (also for 0), larger sizes capped at 100 "
        "(`--rest-max-page-size`), as Formance's.",
    ),
)
_WORKFLOW_ID = Param("workflowID", {"type": "string"}, "Only instances of this workflow.")
_RUNNING = Param("running", {"type": "boolean"}, "`true`: only instances not terminated.")
_NAME = Param("name", {"type": "string"}, "Only triggers whose name contains this text.")
_WAIT = Param("wait", {"type": "boolean"}, "Answer once the instance terminates (bounded wait).")


@dataclass(frozen=True, slots=True)
class _Row:
    method: str
    path: str
    name: str
    summary: str
    handler: str
    status: int
    response: str | None = None
    request: str | None = None
    query: tuple[Param, ...] = ()
    paged: bool = False
    v2_only: bool = False
    creates: tuple[str, ...] = ()
    media_types: tuple[str, ...] = (JSON,)


_TABLE: Final = (
    _Row("GET", "/_info", "getServerInfo", "Get server info", "server_info", 200, "ServerInfo"),
    _Row("GET", "/triggers", "listTriggers", "List triggers", "list_triggers", 200, "ListTriggersResponse",
         query=(_NAME,), paged=True),
    _Row("POST", "/triggers", "createTrigger", "Create trigger", "create_trigger", 201,
         "CreateTriggerResponse", request="TriggerData", creates=("triggerID",)),
    _Row("GET", "/triggers/{triggerID}", "readTrigger", "Read trigger", "get_trigger", 200,
         "ReadTriggerResponse"),
    _Row("DELETE", "/triggers/{triggerID}", "deleteTrigger", "Delete trigger", "delete_trigger", 204),
    _Row("POST", "/triggers/{triggerID}/test", "testTrigger", "Test trigger", "test_trigger", 200,
         "TestTriggerResponse", request="TriggerTestPayload", v2_only=True),
    _Row("GET", "/triggers/{triggerID}/occurrences", "listTriggersOccurrences", "List triggers occurrences",
         "list_occurrences", 200, "ListTriggersOccurrencesResponse", paged=True),
    _Row("GET", "/workflows", "listWorkflows", "List registered workflows", "list_workflows", 200,
         "ListWorkflowsResponse", paged=True),
    _Row("POST", "/workflows", "createWorkflow", "Create workflow", "create_workflow", 201,
         "CreateWorkflowResponse", request="CreateWorkflowRequest", creates=("flowId", "workflowID"),
         media_types=(JSON, YAML)),
    _Row("GET", "/workflows/{flowId}", "getWorkflow", "Get a flow by id", "get_workflow", 200,
         "GetWorkflowResponse"),
    _Row("DELETE", "/workflows/{flowId}", "deleteWorkflow", "Delete a flow by id", "delete_workflow", 204),
    _Row("POST", "/workflows/{workflowID}/instances", "runWorkflow", "Run workflow", "run_workflow", 201,
         "RunWorkflowResponse", request="RunWorkflowRequest", query=(_WAIT,), creates=("instanceID",)),
    _Row("GET", "/instances", "listInstances", "List instances of a workflow", "list_instances", 200,
         "ListRunsResponse", query=(_WORKFLOW_ID, _RUNNING), paged=True),
    _Row("GET", "/instances/{instanceID}", "getInstance", "Get a workflow instance by id", "get_instance",
         200, "GetWorkflowInstanceResponse"),
    _Row("POST", "/instances/{instanceID}/events", "sendEvent", "Send an event to a running workflow",
         "send_event", 204, request="SendEventRequest"),
    _Row("PUT", "/instances/{instanceID}/abort", "cancelEvent", "Cancel a running workflow", "cancel", 204),
    _Row("GET", "/instances/{instanceID}/history", "getInstanceHistory",
         "Get a workflow instance history by id", "instance_history", 200,
         "GetWorkflowInstanceHistoryResponse"),
    _Row("GET", "/instances/{instanceID}/stages/{number}/history", "getInstanceStageHistory",
         "Get a workflow instance stage history", "stage_history", 200,
         "GetWorkflowInstanceHistoryStageResponse"),
)  # fmt: skip

PREFIXES: Final[dict[Version, str]] = {1: "/api/orchestration", 2: "/api/orchestration/v2"}


def operation_id(name: str, version: Version) -> str:
    if version == 1 or name == "testTrigger":
        return name
    return "v2" + name[0].upper() + name[1:]


def operations(handlers: Handlers, version: Version) -> list[Operation]:
    """The operations of one API version, bound to `handlers`."""
    return [
        Operation(
            method=row.method,
            path=PREFIXES[version] + row.path,
            operation_id=operation_id(row.name, version),
            summary=row.summary,
            handler=cast(Handler, getattr(handlers, row.handler)),
            status=row.status,
            response=row.response,
            request=row.request,
            query=(*PAGING, *row.query) if row.paged and version == 2 else row.query,
            creates=row.creates,
            media_types=row.media_types,
        )
        for row in _TABLE
        if version == 2 or not row.v2_only
    ]


__all__ = ["PAGING", "PREFIXES", "READ", "WRITE", "Operation", "Param", "Version", "operations"]
