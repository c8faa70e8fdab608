"""Frontend tooling against a real `flowql serve`, as a browser app's developer uses it:

- Apollo Client 4 (`@apollo/client` + `graphql-ws`) in Node (tests/frontend/apollo.mjs):
  run -> sendEvent -> the watched query shows SUCCEEDED from the normalized cache with no
  refetch; a subscription streams every transition and completes; `node(id)` refetches;
  Apollo's persisted query link registers a query once, then sends its hash over GET.
- graphql-codegen (client preset) generates types from the live schema and
  graphql/operations/*.graphql; `tsc --strict` compiles a file that uses them, and refuses a
  misspelled stage kind and a stage with two kinds.

The npm packages come from package-lock.json (`npm ci --ignore-scripts`, which `.ci/run`
does); without them these tests skip and say so, and under `CI=true` they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.live_server import LiveServer, live_server

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "tests" / "frontend"
MODULES = ROOT / "node_modules"
CODEGEN = MODULES / "@graphql-codegen" / "cli" / "cjs" / "bin.js"
TSC = MODULES / "typescript" / "bin" / "tsc"
NEEDED = (MODULES / "@apollo" / "client", MODULES / "graphql-ws", MODULES / "ws", CODEGEN, TSC)
TSC_FLAGS = ("--strict", "--noEmit", "--target", "ES2022", "--module", "ESNext")
TSC_FLAGS += ("--moduleResolution", "Bundler", "--skipLibCheck")


def _require_node_packages() -> str:
    node = shutil.which("node")
    missing = [str(p.relative_to(ROOT)) for p in NEEDED if not p.exists()]
    reason = None
    if node is None:
        reason = "node not found: the frontend tests run Apollo Client and graphql-codegen in Node.js"
    elif missing:
        reason = f"{', '.join(missing)} missing: run `npm ci --ignore-scripts` at the repository root"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert node is not None
    return node


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _require_node_packages()
    with live_server(tmp_path_factory.mktemp("frontend")) as running:
        yield running
        assert running.new_faults() == []


def _run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=180
    )


def test_apollo_client_keeps_its_cache_whole_and_streams(server: LiveServer) -> None:
    node = _require_node_packages()
    result = _run([node, str(FRONTEND / "apollo.mjs"), server.url], cwd=ROOT)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    findings = json.loads(lines[-1])
    assert findings["ok"] is True, findings
    assert (findings["before"], findings["after"], findings["instanceQueriesSent"]) == (
        "RUNNING",
        "SUCCEEDED",
        1,
    )
    assert findings["transitions"] == ["RUNNING/RUNNING", "WAITING/RUNNING", "SUCCEEDED/SUCCEEDED"]
    assert findings["persistedQueryRequests"] == ["GET hash", "POST query", "GET hash"]


def test_codegen_types_compile_and_refuse_a_misspelled_stage_kind(server: LiveServer, tmp_path: Path) -> None:
    node = _require_node_packages()
    work = tmp_path / "client"
    work.mkdir()
    for source in FRONTEND.glob("*.ts"):
        shutil.copy(source, work / source.name)
    (work / "node_modules").symlink_to(MODULES, target_is_directory=True)
    generated = _run(
        [node, str(CODEGEN), "--silent", "--config", str(FRONTEND / "codegen.yml")],
        cwd=FRONTEND,
        env={"FLOWQL_URL": server.url, "FLOWQL_CODEGEN_OUT": str(work / "generated")},
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    types = (work / "generated" / "graphql.ts").read_text()
    assert "wait_event: WaitEventStageInput" in types and "InstanceDocument" in types

    # One compiler run over the three files: errors in exactly the two that must not compile.
    checked = _run(
        [node, str(TSC), *TSC_FLAGS, "uses_types.ts", "misspelled_kind.ts", "two_kinds.ts"], cwd=work
    )
    errors = [line for line in checked.stdout.splitlines() if ": error TS" in line]
    assert checked.returncode != 0, checked.stdout + checked.stderr
    assert {line.split("(", 1)[0] for line in errors} == {"misspelled_kind.ts", "two_kinds.ts"}, (
        checked.stdout
    )
    assert any("'wait_evnt' does not exist in type 'StageInput'" in line for line in errors), checked.stdout
    assert any("two_kinds.ts" in line and "'StageInput'" in line for line in errors), checked.stdout
