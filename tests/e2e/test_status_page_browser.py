"""The operator console at `/` (issues 9, 18) in a real browser against a real `flowql serve`.

The Node script (tests/e2e/browser/status_page.mjs) shows server validation errors next
to the stage, creates a workflow `delay 2s` + `wait_event go`, runs it, watches the
stage statuses change without a reload (cutting the WebSocket once on the way: the page
reconnects, resubscribes and shows no transition twice), sends the event from the page,
sees SUCCEEDED, cancels a second run, pages through instances, and checks the token goes
out as a bearer header. A second test kills the server (SIGKILL) while the page watches an
instance, starts it again on the same port and store, and expects the page to carry on.
A third runs the server with auth on: UNAUTHENTICATED without a token, everything (queries
and the live subscription) with the token typed into the page. The tour (console_tour.mjs)
walks every route with data made through the API, deep links reloaded, and screenshots each
page at 1440x900 and at a phone width (no horizontal scrolling allowed there); its server
gives up on an activity after 3 attempts, so a run from an empty account shows real retries.
In every script a request to anywhere but the server is blocked and fails the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser_harness import ARTIFACTS, flowql_server, run_browser_script, skip_without_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SCREENSHOTS = [
    "status-validation.png",
    "status-waiting-delay.png",
    "status-waiting-event.png",
    "status-succeeded.png",
    "status-cancel-confirm.png",
    "status-cancelled.png",
]
TOUR = [
    "console-instances",
    "console-search",
    "console-triggers",
    "console-trigger",
    "console-instance-failed",
    "console-instance",
    "console-workflow",
    "console-account",
]
LEDGER = ["console-instance-postings", "console-accounts", "console-account-postings"]


def test_status_page_watches_a_run_live(tmp_path: Path) -> None:
    skip_without_browser()
    for name in SCREENSHOTS:
        (ARTIFACTS / name).unlink(missing_ok=True)
    with flowql_server(tmp_path) as server:
        run_browser_script("status_page", server.url, tmp_path, timeout=200)
    for name in SCREENSHOTS:
        assert (ARTIFACTS / name).stat().st_size > 0, name


def test_status_page_reconnects_after_server_restart(tmp_path: Path) -> None:
    skip_without_browser()
    with flowql_server(tmp_path) as server:

        def restart() -> None:
            server.kill()
            server.start()

        run_browser_script("status_page_restart", server.url, tmp_path, actions={"restart-server": restart})
    assert (ARTIFACTS / "status-after-restart.png").stat().st_size > 0


def test_status_page_with_auth_on(tmp_path: Path) -> None:
    skip_without_browser()
    token = "e2e-secret:orchestration:read,orchestration:write"
    with flowql_server(tmp_path, "--auth-token", token) as server:
        run_browser_script("status_page_auth", server.url, tmp_path)
    assert (ARTIFACTS / "status-auth.png").stat().st_size > 0


def test_console_tour_of_every_route(tmp_path: Path) -> None:
    skip_without_browser()
    shots = [ARTIFACTS / f"{name}{suffix}.png" for name in TOUR for suffix in ("", "-phone")]
    for shot in shots:  # a screenshot left by an earlier run proves nothing
        shot.unlink(missing_ok=True)
    # Insufficient funds are retried (as Formance does): 3 attempts, then the run fails.
    with flowql_server(tmp_path, "--max-attempts", "3") as server:
        run_browser_script("console_tour", server.url, tmp_path, timeout=200)
    for shot in shots:
        assert shot.stat().st_size > 0, shot.name


def test_console_instance_list_is_live(tmp_path: Path) -> None:
    skip_without_browser()
    # One attempt: the run from an empty account fails at once instead of retrying.
    with flowql_server(tmp_path, "--max-attempts", "1") as server:
        run_browser_script("console_live", server.url, tmp_path)


def test_console_ledger_views(tmp_path: Path) -> None:
    skip_without_browser()
    shots = [ARTIFACTS / f"{name}{suffix}.png" for name in LEDGER for suffix in ("", "-phone")]
    for shot in shots:
        shot.unlink(missing_ok=True)
    with flowql_server(tmp_path) as server:
        run_browser_script("console_ledger", server.url, tmp_path)
    for shot in shots:
        assert shot.stat().st_size > 0, shot.name
