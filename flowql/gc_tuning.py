"""The collector after start-up: what the server holds for its life is never scanned again.

CPython's full collection walks every tracked container. At 1,000 WebSocket subscribers a
full collection paused the loop for 300 to 650 ms (tests/bench/fanout.py, a loaded
machine), a stall every subscriber and request saw. `gc.freeze()` once start-up is done
moves everything allocated so far (modules, the schema, the engine, caches) to the
permanent generation, so no collection walks it again; and a larger young-generation
threshold makes young collections rarer (what survives them decides their cost, not how
often they run), the trade long-running CPython servers commonly make.
"""

from __future__ import annotations

import gc
import logging

from aiohttp import web

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 50_000
"""Allocations minus deallocations before a young collection (CPython's default: 700)."""


async def freeze_after_startup(app: web.Application) -> None:
    gc.collect()  # start-up's garbage goes before the rest is frozen
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    log.debug("collector frozen after start-up", extra={"frozen": gc.get_freeze_count()})


__all__ = ["YOUNG_THRESHOLD", "freeze_after_startup"]
