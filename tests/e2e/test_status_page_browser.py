"""The live status page (issue 9) in a real browser against a real `flowql serve`.

The Node script (tests/e2e/browser/status_page.mjs) shows server validation errors next
to the stage, creates a workflow `delay 2s` + `wait_event go`, runs it, watches the
stage statuses change without a reload (cutting the WebSocket once on the way: the page
reconnects, resubscribes and shows no transition twice), sends the event from the page,
sees SUCCEEDED, cancels a second run, and checks the token goes out as a bearer header.
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
    "status-cancelled.png",
]


def test_status_page_watches_a_run_live(tmp_path: Path) -> None:
    skip_without_browser()
    with flowql_server(tmp_path) as url:
        run_browser_script("status_page", url, tmp_path, timeout=200)
    for name in SCREENSHOTS:
        assert (ARTIFACTS / name).stat().st_size > 0, name
