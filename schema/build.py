"""Schema assembly: root types plus our scalars; the roots come from `flowql.resolvers`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from . import enums as _enums  # noqa: F401  (registers the engine enums with Strawberry)
from .execution import AcyclicExecutionContext
from .scalars import SCALAR_MAP
from .stage_definition import DelayStage, SendStage, UpdateStage, WaitEventStage

ExtensionFactory = type[SchemaExtension] | Callable[[], SchemaExtension]
"""A class or a factory: Strawberry builds fresh extensions for every operation."""


def build_schema(
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    *,
    extensions: Sequence[ExtensionFactory] = (),
    schema_class: type[strawberry.Schema] = strawberry.Schema,
) -> strawberry.Schema:
    return schema_class(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=list(extensions),
        types=[SendStage, DelayStage, WaitEventStage, UpdateStage],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=AcyclicExecutionContext,
    )


__all__ = ["ExtensionFactory", "build_schema"]
