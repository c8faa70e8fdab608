"""One event's evaluation by the expressions of the triggers it matches.

The payload is converted to CEL once and serialised once (for sandboxed expressions); the
resources its `link()` calls name are resolved before each expression runs, each URI once
per event and at most MAX_LINKED_RESOURCES of them. A link that cannot be followed is left
out of the expression's context: the expression fails with the link's error only if it
reads it (`cond ? link(event, "a").x : ""` with a false `cond` needs no link).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .cel import Expression, Kind, Outcome, describe, evaluate, make_context
from .cel_sandbox import Sandbox
from .errors import validation
from .links import LinkError, Links, find_uri

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_LINKED_RESOURCES = 16
"""Distinct `link()` URIs followed for one event (each may be an HTTP request)."""


class Evaluation:
    """One payload, evaluated by many expressions: converted to CEL once, serialised once;
    each linked resource fetched once (at most MAX_LINKED_RESOURCES per event)."""

    def __init__(self, payload: dict[str, Any], sandbox: Sandbox, links: Links | None) -> None:
        self.payload = payload
        self.json = payload_json(payload)
        self._sandbox = sandbox
        self._links = links
        self._context: Any = None
        self._resources: dict[str, asyncio.Future[dict[str, Any] | LinkError]] = {}
        """By URI; a future, since an event's triggers are dispatched concurrently."""

    async def run(self, kind: Kind, expression: Expression) -> Outcome:
        resolved, failure = await self._follow(expression) if expression.links else (None, None)
        if expression.sandboxed:
            outcome = await self._sandbox.evaluate(kind, expression.source, self.json, resolved)
        elif resolved is not None:
            try:
                outcome = evaluate(kind, expression.program, make_context(self.payload, resolved))
            except Exception as exc:
                return Outcome(error=f"payload cannot be evaluated: {exc}")
        else:
            if self._context is None:
                try:
                    self._context = make_context(self.payload)
                except Exception as exc:
                    return Outcome(error=f"payload cannot be evaluated: {exc}")
            outcome = evaluate(kind, expression.program, self._context)
        # a link that could not be followed is the error, if the expression needed it
        return Outcome(error=failure) if outcome.error is not None and failure else outcome

    async def _follow(self, expression: Expression) -> tuple[dict[str, Any], str | None]:
        """Every `link()` of the expression, in order; a failed one is left out (reading it
        fails the expression with its error) and the first failure is returned."""
        resolved: dict[str, Any] = {}
        failure: str | None = None
        for number, link in enumerate(expression.links):
            try:
                target = link.object.execute(make_context(self.payload, resolved))
                data = await self._resource(find_uri(target, link.rel))
            except LinkError as exc:
                failure = failure or str(exc)
                continue
            except Exception as exc:  # the object's own expression failed
                failure = failure or describe(exc)
                continue
            resolved[str(number)] = data
        return resolved, failure

    async def _resource(self, uri: str) -> dict[str, Any]:
        known = self._resources.get(uri)
        if known is None:
            if self._links is None:
                raise LinkError("link(): this trigger service follows no links")
            if len(self._resources) >= MAX_LINKED_RESOURCES:
                raise LinkError(f"at most {MAX_LINKED_RESOURCES} linked resources per event")
            known = self._resources[uri] = asyncio.ensure_future(self._fetch(self._links, uri))
        found = await asyncio.shield(known)  # one trigger's cancellation leaves the others' fetch
        if isinstance(found, LinkError):
            raise found
        return found

    @staticmethod
    async def _fetch(links: Links, uri: str) -> dict[str, Any] | LinkError:
        try:
            return await links.resolve(uri)
        except LinkError as exc:
            return exc


def payload_json(payload: dict[str, Any]) -> str:
    try:
        text = json.dumps(payload, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as exc:
        raise validation(f"payload: not JSON serialisable: {exc}", field="payload") from None
    if len(text) > MAX_PAYLOAD_BYTES:
        raise validation(f"payload: {len(text)} bytes, at most {MAX_PAYLOAD_BYTES}", field="payload")
    return text


__all__ = ["MAX_LINKED_RESOURCES", "MAX_PAYLOAD_BYTES", "Evaluation", "payload_json"]
