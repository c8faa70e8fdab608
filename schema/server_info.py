"""`ServerInfo`: what is serving this API."""

from __future__ import annotations

from importlib import metadata

import strawberry


def package_version() -> str:
    try:
        return metadata.version("flowql")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@strawberry.type
class ServerInfo:
    version: str
    store: str = strawberry.field(description="The store backend: sqlite or mongodb.")


__all__ = ["ServerInfo", "package_version"]
