"""Schemathesis hooks for the REST runs (`SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks`).

A cursor is opaque: one the schema lets schemathesis make up is rightly refused (400), which
its positive-data check would report. Made-up cursors are dropped; real ones reach the
list operations through the documents' links from each page's `next`.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def map_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> dict[str, Any] | None:
    if query:
        query.pop("cursor", None)
    return query
