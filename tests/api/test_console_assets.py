"""Every module the console at `/` imports is served, from this origin only (no CDN)."""

from __future__ import annotations

import re

from flowql.status_page import STATIC_DIR
from tests.api.client import Api

IMPORT = re.compile(
    r"""(?:^|\n)\s*import\s[^'"]*?from\s+['"]([^'"]+)['"]"""  # ES module imports
    r'|<script[^>]+src="([^"]+)"|href="(/static/[^"]+)"'  # the page's scripts and styles
)


async def test_every_console_asset_is_served_from_this_origin(api: Api) -> None:
    async with api.session.get(api.url) as resp:
        html = await resp.text()
    pending = [next(g for g in m.groups() if g) for m in IMPORT.finditer(html)]
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path.startswith("./"):
            path = "/static/status/" + path[2:]
        assert path.startswith("/static/"), f"asset outside the server: {path}"
        if path in seen:
            continue
        seen.add(path)
        async with api.session.get(api.url.with_path(path)) as resp:
            assert resp.status == 200, path
            body = await resp.text()
        if path.endswith(".js") or path.endswith(".mjs"):
            assert "javascript" in resp.content_type, (path, resp.content_type)
            if path.startswith("/static/status/"):
                pending += [next(g for g in m.groups() if g) for m in IMPORT.finditer(body)]
    modules = {f"/static/status/{p.name}" for p in (STATIC_DIR / "status").glob("*.js")}
    assert modules <= seen, f"modules no page imports: {sorted(modules - seen)}"
