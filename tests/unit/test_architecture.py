"""The dependency direction of DESIGN.md §7, checked on the source: engine and storage never
reach up into the API layers, the engine never picks a storage driver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

FORBIDDEN = {
    "engine": {
        "strawberry",
        "aiohttp",
        "flowql.schema",
        "flowql.resolvers",
        "flowql.rest",
        "flowql.app",
        "flowql.storage",
        "pymongo",
        "aiosqlite",
        "bson",
    },
    "storage": {"strawberry", "aiohttp", "flowql.schema", "flowql.resolvers", "flowql.rest", "flowql.app"},
    "schema": {"flowql.storage", "flowql.resolvers", "pymongo", "aiosqlite", "aiohttp"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_only_import_downwards(package: str) -> None:
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[package]):
                violations.append(f"{path.relative_to(ROOT)} imports {module}")
    assert violations == []


def test_graphql_data_folder_is_not_a_package() -> None:
    assert not (ROOT / "graphql" / "__init__.py").exists(), "a graphql package would shadow graphql-core"
