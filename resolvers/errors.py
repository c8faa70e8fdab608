"""Error mapping: every error a client sees has `extensions.code`; nothing internal leaks.

- a `FlowqlError` keeps its message (which names the field) and gets its code;
- an error graphql-core or Strawberry raised about the document or the variables (no
  original exception) is a VALIDATION error, unless it already carries a code;
- a store that cannot be reached (`is_unavailable`) is UNAVAILABLE, logged as a warning
  (the HTTP answer is 503: flowql/view.py);
- anything else is INTERNAL with a generic message; the original is logged server-side
  with its traceback, and only the log line's `error_id` reaches the client.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from flowql.engine.errors import UNAVAILABLE_MESSAGE, ErrorCode, FlowqlError, is_unavailable

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "internal error"
_VARIABLE_PATH = re.compile(
    r"Variable '\$\w+' (?:has|got) invalid value at '?\.?\w*?\.?([A-Za-z_][\w\[\].]*)'?"
)
_ERROR_ID = "flowql_error_id"


def _original(error: GraphQLError) -> BaseException | None:
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


# Strawberry's own exceptions about the client's document (wrong operation type for the
# transport, unknown operation name): client errors, not server faults.
_CLIENT_MISTAKES = (InvalidOperationTypeError, CannotGetOperationTypeError, MissingQueryError)


def _is_internal(error: GraphQLError) -> bool:
    original = _original(error)
    return (
        original is not None
        and not isinstance(original, (FlowqlError, GraphQLError, *_CLIENT_MISTAKES))
        and not is_unavailable(original)
    )


def _client_message(error: GraphQLError, original: BaseException | None) -> str:
    if isinstance(original, InvalidOperationTypeError):
        kind = original.operation_type.value
        return (
            f"{kind} operations are not allowed here "
            "(graphql-ws only runs subscriptions; use POST or graphql-transport-ws)"
        )
    if isinstance(original, CannotGetOperationTypeError):
        return original.as_http_error_reason()
    if isinstance(original, MissingQueryError):  # an empty `query` over a WebSocket
        return "No GraphQL query found in the request"
    return error.message


def client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it (idempotent)."""
    extensions: dict[str, Any] = dict(error.extensions or {})
    if "code" in extensions and error.original_error is None:
        return error
    original = _original(error)
    message = error.message
    if is_unavailable(original) and not isinstance(original, FlowqlError):
        extensions = {"code": ErrorCode.UNAVAILABLE.value}
        message = UNAVAILABLE_MESSAGE
    elif isinstance(original, FlowqlError):
        extensions["code"] = original.code.value
        if original.field:
            extensions["field"] = original.field
        message = original.message
    elif _is_internal(error):
        extensions = {"code": ErrorCode.INTERNAL.value}
        error_id = getattr(original, _ERROR_ID, None)
        if error_id:
            extensions["errorId"] = error_id
        message = INTERNAL_MESSAGE
    else:
        extensions.setdefault("code", ErrorCode.VALIDATION.value)
        where = _VARIABLE_PATH.match(error.message)
        if where and "field" not in extensions:  # a variable's value refused by the schema
            extensions["field"] = where.group(1)
        message = _client_message(error, original)
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def log_internal(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Log every internal error once, with its traceback and an id the client also gets."""
    for error in errors:
        original = _original(error)
        if is_unavailable(original) and not isinstance(original, FlowqlError):
            log.warning("store unavailable", extra={"error": f"{type(original).__name__}: {original}"})
            continue
        if original is None or not _is_internal(error) or getattr(original, _ERROR_ID, None):
            continue
        error_id = uuid.uuid4().hex[:16]
        with contextlib.suppress(AttributeError):  # an exception type with slots gets no id
            setattr(original, _ERROR_ID, error_id)
        operation = execution_context.operation_name if execution_context else None
        log.error(
            "internal error in GraphQL operation",
            exc_info=original,
            extra={"error_id": error_id, "operation": operation, "path": error.path},
        )


class FlowqlSchema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # `execute` answers once: a subscription here (plain HTTP GET/POST) cannot stream.
        # Refusing it makes the transport answer 400 "subscriptions are not allowed".
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        result = await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )
        if result.errors:  # also what escaped ErrorMapping: errors raised inside extension hooks
            log_internal(result.errors, None)
            result.errors = [client_error(e) for e in result.errors]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors (validation, not found...) are answers, not server faults.
        log_internal(errors, execution_context)


class ErrorMapping(SchemaExtension):
    """Rewrites the errors of every result, streamed or not, with `client_error`."""

    def _map(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if not errors:
            return
        try:
            log_internal(errors, self.execution_context)
            mapped = [client_error(e) for e in errors]
        except Exception:  # never let the mapping itself leak details or hang a stream
            log.exception("error mapping failed")
            mapped = [GraphQLError(INTERNAL_MESSAGE, extensions={"code": ErrorCode.INTERNAL.value})]
        result.errors = mapped  # type: ignore[attr-defined]

    def on_operation(self) -> Iterator[None]:
        yield
        self._map(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._map(result)
        yield


__all__ = ["INTERNAL_MESSAGE", "ErrorMapping", "FlowqlSchema", "client_error"]
