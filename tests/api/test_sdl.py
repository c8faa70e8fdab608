"""`graphql/schema.graphql` is the printed schema; `graphql/` is data, never a package."""

from __future__ import annotations

import difflib
from pathlib import Path

from flowql.sdl import sdl

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "graphql" / "schema.graphql"
REGENERATE = "python -m flowql.sdl > graphql/schema.graphql"


def test_schema_snapshot_matches_the_code() -> None:
    current = sdl()
    stored = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if current != stored:
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "graphql/schema.graphql (checked in)",
                "schema from the code",
                n=2,
            )
        )
        raise AssertionError(
            f"the GraphQL schema changed; regenerate the snapshot with\n\n    {REGENERATE}\n\n"
            f"and review the diff:\n{diff[:6000]}"
        )


def test_graphql_folder_is_not_a_python_package() -> None:
    # A package named `graphql` would shadow graphql-core for everyone importing it.
    assert not (ROOT / "graphql" / "__init__.py").exists()
    assert not list((ROOT / "graphql").rglob("*.py"))
