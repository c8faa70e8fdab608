"""Print the GraphQL schema: `python -m flowql.sdl > graphql/schema.graphql`."""

from __future__ import annotations

import sys

from flowql.resolvers import create_schema


def sdl() -> str:
    return create_schema().as_str() + "\n"


def print_sdl() -> None:
    sys.stdout.write(sdl())


if __name__ == "__main__":
    print_sdl()
