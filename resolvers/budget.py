"""What a document may cost, measured in one linear pass before graphql-core validates it.

graphql-core's OverlappingFieldsCanBeMerged rule compares every pair of fields that share a
response name in a selection set, and again inside their sub-selections: 995 `nodes { id }`
in one selection set (13 KB) held the event loop for seconds. So before any validation
rule runs, the parsed document is measured once, each fragment once (its measure reused at
every spread):

- **selections**: fields, fragment spreads and inline fragments as written (a fragment's
  once); at most `max_selections` per document;
- **repeats**: a response name with a sub-selection may appear at most `MAX_REPEATS` times
  in one selection set, inline fragments and each distinct spread fragment merged in (the
  overlap rule compares every pair of them, and again inside);
- **cost**: every field costs 1, times the sizes of the lists around it. A field with a
  page-size argument (`first`, `pageSize`) multiplies what it selects by that size (by the
  default page size when absent, for a `...Connection`), `ids` by its length; the `edges`
  and `nodes` of a sized connection are that page; any other list counts `LIST_GUESS`
  items; a fragment spread twice in one selection set counts once (it runs once). At most
  `max_cost` per operation, so `workflows(first: 1000) { nodes {
  instances(first: 1000) { ... } } }` is refused before it runs. Unknown fields cost 1 and
  are left to validation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from flowql.engine.errors import ErrorCode

MAX_REPEATS: Final = 8
LIST_GUESS: Final = 10
PAGE_ARGUMENTS: Final = ("first", "pageSize")
PAGE_ITEMS: Final = frozenset({"edges", "nodes"})


@dataclass(frozen=True, slots=True)
class Limits:
    max_selections: int
    max_cost: int
    default_page_size: int


@dataclass(frozen=True, slots=True)
class _Shape:
    repeated: tuple[str, int] | None
    """The first response name selected more than MAX_REPEATS times, and how often."""
    heads: Counter[str]
    """Response names with a sub-selection at this level (what a spread adds to its parent)."""


@dataclass
class _Measurer:
    fragments: dict[str, FragmentDefinitionNode]
    selections: int = 0
    """Selections as written (each fragment's once)."""
    _shapes: dict[str, _Shape] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)

    def selection_set(self, node: SelectionSetNode | None) -> _Shape:
        repeated: tuple[str, int] | None = None
        heads: Counter[str] = Counter()
        spread: set[str] = set()
        for selection in node.selections if node else ():
            self.selections += 1
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                repeated = repeated or inner.repeated
                if selection.selection_set:
                    heads[(selection.alias or selection.name).value] += 1
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                if selection.name.value in spread:  # graphql-core collects a fragment once per set
                    continue
                spread.add(selection.name.value)
                inner = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            repeated = repeated or inner.repeated
            heads.update(inner.heads)
        if repeated is None and heads:
            name, count = heads.most_common(1)[0]
            if count > MAX_REPEATS:
                repeated = (name, count)
        return _Shape(repeated, heads)

    def fragment(self, name: str) -> _Shape:
        known = self._shapes.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._active:  # unknown or a cycle: validation reports it
            return _Shape(None, Counter())
        self._active.add(name)
        shape = self.selection_set(definition.selection_set)
        self._active.discard(name)
        self._shapes[name] = shape
        return shape


@dataclass
class _Coster:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    default_page_size: int
    _costs: dict[str, int] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)

    def selection_set(
        self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, sized: bool
    ) -> int:
        total = 0
        spread: set[str] = set()
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, sized)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, kind, sized)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)  # executed once per selection set
                total += self.fragment(selection.name.value)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, sized: bool) -> int:
        definition = parent.fields.get(node.name.value) if isinstance(parent, GraphQLObjectType) else None
        if definition is None or node.selection_set is None:
            return 1
        named = get_named_type(definition.type)
        size = self.page_size(node, named)
        if size is None:
            is_page = sized and node.name.value in PAGE_ITEMS
            size = LIST_GUESS if _is_list(definition.type) and not is_page else 1
            inner = self.selection_set(node.selection_set, named, sized=False)
        else:
            inner = self.selection_set(node.selection_set, named, sized=True)
        return 1 + size * inner

    def page_size(self, node: FieldNode, named: GraphQLNamedType) -> int | None:
        for argument in node.arguments or ():
            name = argument.name.value
            if name in PAGE_ARGUMENTS:
                value = self.value(argument.value)
                return value if isinstance(value, int) and value > 0 else self.default_page_size
            if name == "ids":
                value = self.value(argument.value)
                return len(value) if isinstance(value, list | tuple) else 1
        if named.name.endswith("Connection"):
            return self.default_page_size
        return None

    def value(self, node: ValueNode) -> object:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            try:
                return int(node.value)
            except ValueError:
                return None
        if isinstance(node, ListValueNode):
            return node.values
        return None

    def fragment(self, name: str) -> int:
        known = self._costs.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._active:
            return 0
        self._active.add(name)
        kind = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection_set(definition.selection_set, kind, sized=False)
        self._active.discard(name)
        self._costs[name] = cost
        return cost


def _is_list(kind: GraphQLOutputType) -> bool:
    return isinstance(kind.of_type if isinstance(kind, GraphQLNonNull) else kind, GraphQLList)


def _refused(message: str, **extensions: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.VALIDATION.value, **extensions})


def check_shape(document: DocumentNode, limits: Limits) -> GraphQLError | None:
    """Selections and repeats: what makes validation itself slow (run before it)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    measurer = _Measurer(fragments)
    shapes = [measurer.selection_set(d.selection_set) for d in operations]
    shapes += [measurer.fragment(name) for name in fragments]
    for shape in shapes:
        if shape.repeated is not None:
            name, count = shape.repeated
            return _refused(
                f"'{name}' is selected {count} times in one selection set (at most {MAX_REPEATS}): "
                "merge them into one selection"
            )
    if measurer.selections > limits.max_selections:
        count, most = measurer.selections, limits.max_selections
        return _refused(f"the document has {count} selections (at most {most})")
    return None


def check_cost(
    document: DocumentNode,
    schema: GraphQLSchema,
    limits: Limits,
    *,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> GraphQLError | None:
    """The static cost of the operation to run (after validation: a valid document)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    coster = _Coster(schema, fragments, variables or {}, limits.default_page_size)
    for operation in operations:
        if operation_name and (operation.name is None or operation.name.value != operation_name):
            continue
        root = schema.get_root_type(operation.operation)
        cost = coster.selection_set(operation.selection_set, root, sized=False)
        if cost > limits.max_cost:
            return _refused(
                f"the operation would cost {cost} (at most {limits.max_cost}): ask for smaller pages",
                cost=cost,
                maxCost=limits.max_cost,
            )
    return None


def check_document(
    document: DocumentNode,
    schema: GraphQLSchema,
    limits: Limits,
    *,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> GraphQLError | None:
    """The first limit `document` exceeds, as a VALIDATION error; None when within them."""
    return check_shape(document, limits) or check_cost(
        document, schema, limits, variables=variables, operation_name=operation_name
    )


def budget_extension(limits: Limits) -> type[SchemaExtension]:
    """Refuses a document of too many selections or repeats before validation runs, and an
    operation over the cost ceiling after it (so the depth and alias limits speak first)."""

    class DocumentBudget(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            document = self.execution_context.graphql_document
            if document is not None:
                error = check_shape(document, limits)
                if error is not None:
                    # Strawberry answers these as a PreExecutionError on every transport (a raise
                    # here escaped the WebSocket handlers); the validation cache then skips it.
                    self.execution_context.pre_execution_errors = [error]
            yield

        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None:
                error = check_cost(
                    document,
                    context.schema._schema,
                    limits,
                    variables=context.variables,
                    operation_name=context.operation_name,
                )
                if error is not None:
                    raise error
            yield

    return DocumentBudget


__all__ = [
    "LIST_GUESS",
    "MAX_REPEATS",
    "Limits",
    "budget_extension",
    "check_cost",
    "check_document",
    "check_shape",
]
