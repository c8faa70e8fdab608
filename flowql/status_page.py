"""The live status page (static files in ``flowql/static/status``) served at ``GET /``.

The page talks to the public GraphQL API only; this module just serves its files.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
INDEX = STATIC_DIR / "status" / "index.html"

__all__ = ["STATIC_DIR", "setup_status_page"]


async def _index(request: web.Request) -> web.FileResponse:
    # no-cache: the page is tiny and must follow upgrades of its scripts.
    return web.FileResponse(INDEX, headers={"Cache-Control": "no-cache"})


def setup_status_page(app: web.Application) -> None:
    """Add ``GET /`` (the status page) and ``/static/`` (flowql/static), unless already routed."""
    canonical = {resource.canonical for resource in app.router.resources()}
    if "/static" not in canonical:
        app.router.add_static("/static/", STATIC_DIR)
    if "/" not in canonical:
        app.router.add_get("/", _index, name="status_page")
