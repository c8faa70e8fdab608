"""The OpenAPI 3.1 documents of v1 and v2, built from the operation table that registers the
routes, so a route cannot exist without its entry (tests/api/test_rest_openapi.py checks
the served documents against the router and validates responses against them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from .handlers import package_version
from .routes import Operation, Version
from .schemas import components

Document = dict[str, Any]

_PATH_PARAMS: Final[dict[str, tuple[dict[str, Any], str]]] = {
    "flowId": ({"type": "string"}, "The workflow id"),
    "workflowID": ({"type": "string"}, "The workflow id"),
    "instanceID": ({"type": "string"}, "The instance id"),
    "triggerID": ({"type": "string"}, "The trigger id"),
    "number": ({"type": "integer", "minimum": 0}, "The stage number"),
}
SECURITY_SCHEME: Final = "bearerAuth"


def document(operations: Sequence[Operation], version: Version) -> Document:
    prefix = "V2" if version == 2 else ""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry = _operation(op, prefix)
        links = _links(op, operations) | _next_page(op)
        if links:
            entry["responses"][str(op.status)]["links"] = links
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"flowql: Formance Orchestration API v{version} compatibility",
            "version": package_version(),
            "description": (
                "Same paths, bodies and status codes as the Formance Orchestration API "
                f"v{version}. With authentication on, GET needs the `orchestration:read` scope "
                "and every other method `orchestration:write`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components(version == 2),
            "responses": {
                f"{prefix}ErrorResponse": {
                    "description": "General error",
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{prefix}Error"}}
                    },
                }
            },
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(op: Operation, prefix: str) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": _ref(prefix + op.response)}}
    entry: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [f"orchestration.{'v2' if prefix else 'v1'}"],
        "parameters": [*_path_parameters(op.path), *_query_parameters(op)],
        "responses": {
            str(op.status): success,
            "default": {"$ref": f"#/components/responses/{prefix}ErrorResponse"},
        },
        "security": [{}, {SECURITY_SCHEME: []}],
        "x-scopes": [op.scope],
    }
    if op.request is not None:
        entry["requestBody"] = {
            "required": op.request != "RunWorkflowRequest",
            "content": {media: {"schema": _ref(prefix + op.request)} for media in op.media_types},
        }
    return entry


def _links(producer: Operation, operations: Sequence[Operation]) -> dict[str, Any]:
    """OpenAPI links from an operation that creates a resource to every operation on it, so
    that clients (and schemathesis' stateful phase) can follow `data.id`."""
    links: dict[str, Any] = {}
    for op in operations:
        filled = [name for name in re.findall(r"\{(\w+)\}", op.path) if name in producer.creates]
        if filled and op is not producer:
            links[op.operation_id] = {
                "operationId": op.operation_id,
                "parameters": {name: "$response.body#/data/id" for name in filled},
            }
    return links


def _next_page(op: Operation) -> dict[str, Any]:
    """A v2 list links to its own next page."""
    if not any(p.name == "cursor" for p in op.query):
        return {}
    parameters = {"cursor": "$response.body#/cursor/next"}
    parameters |= {name: f"$request.path.{name}" for name in re.findall(r"\{(\w+)\}", op.path)}
    return {"nextPage": {"operationId": op.operation_id, "parameters": parameters}}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for name in re.findall(r"\{(\w+)\}", path):
        schema, description = _PATH_PARAMS[name]
        params.append(
            {"name": name, "in": "path", "required": True, "schema": schema, "description": description}
        )
    return params


def _query_parameters(op: Operation) -> list[dict[str, Any]]:
    return [
        {"name": p.name, "in": "query", "required": False, "schema": p.schema, "description": p.description}
        for p in op.query
    ]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


__all__ = ["SECURITY_SCHEME", "Document", "document"]
