"""GraphiQL at GET /graphql works offline in a real browser and runs a query."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser_harness import ARTIFACTS, flowql_server, run_browser_script, skip_without_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_graphiql_runs_a_query_offline(tmp_path: Path) -> None:
    skip_without_browser()
    with flowql_server(tmp_path) as server:
        output = run_browser_script("graphiql", server.url, tmp_path)
    assert '"version"' in output
    assert (ARTIFACTS / "graphiql.png").stat().st_size > 0
