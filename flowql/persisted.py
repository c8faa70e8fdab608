"""Automatic persisted queries (Apollo's protocol) and trusted documents.

APQ: a client sends `extensions.persistedQuery {version: 1, sha256Hash}` without `query`
(POST, or GET with `extensions` as a query parameter, which CDNs can cache). A known hash
runs its document; an unknown one answers `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, as Apollo
Server does), and the client sends the hash again with the query, which is checked
(`sha256(query) == sha256Hash`, else VALIDATION) and remembered in a bounded LRU cache
(entries and bytes). With the cache turned off (`--apq-cache-size 0`) the answer is
`PERSISTED_QUERY_NOT_SUPPORTED`, and Apollo's link goes back to sending queries.

Trusted documents (`--trusted-documents FILE`): only the documents of a manifest run, on
HTTP and WebSocket alike. The manifest is JSON, either `{hash: document}` (graphql-codegen's
client preset, `persistedDocuments: true`) or Apollo's persisted query manifest
(`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, body}]}`).
A hash runs its document; a query text runs if it is one of them (FORBIDDEN otherwise); the
cache learns nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, parse, print_ast
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLRequestData

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
DEFAULT_CACHE_SIZE = 1000
CACHE_BYTES = 16 * 1024 * 1024
"""The cache also holds at most this much document text (documents are up to 1 MiB)."""
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


class PersistedQueryError(Exception):
    """Answered as a GraphQL error body: `code` in extensions, HTTP `status`."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: str | Path) -> dict[str, str]:
    """hash -> document, from either manifest format; ValueError naming what is wrong."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{file}: larger than {MAX_MANIFEST_BYTES} bytes")
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{file}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: not a JSON manifest ({error})") from None
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        operations = data.get("operations")
        if data.get("version") != 1 or not isinstance(operations, list):
            raise ValueError(f"{file}: expected an apollo-persisted-query-manifest of version 1")
        pairs = [(op.get("id"), op.get("body")) for op in operations if isinstance(op, dict)]
        if len(pairs) != len(operations):
            raise ValueError(f"{file}: every operation must be an object with id and body")
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ValueError(f"{file}: expected an object of hash -> document")
    manifest: dict[str, str] = {}
    for key, body in pairs:
        if not isinstance(key, str) or not key or not isinstance(body, str) or not body:
            raise ValueError(f"{file}: every entry needs a hash and a document (got {str(key)[:40]!r})")
        try:
            parse(body)
        except GraphQLSyntaxError as error:
            raise ValueError(
                f"{file}: the document of {key[:40]!r} is not GraphQL: {error.message}"
            ) from None
        manifest[key] = body
    if not manifest:
        raise ValueError(f"{file}: no documents")
    return manifest


def _printed(body: str) -> str:
    return print_ast(parse(body))


@dataclass(frozen=True, slots=True)
class _Hashed:
    version: object
    sha256_hash: object


def _requested(extensions: Mapping[str, Any] | None) -> _Hashed | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise PersistedQueryError("VALIDATION", "extensions.persistedQuery: must be an object", 400)
    return _Hashed(persisted.get("version"), persisted.get("sha256Hash"))


class PersistedQueries:
    """Fills in the document of a request that names it by hash; enforces a manifest."""

    def __init__(
        self, *, cache_size: int = DEFAULT_CACHE_SIZE, trusted: Mapping[str, str] | None = None
    ) -> None:
        self.cache_size = cache_size
        self.trusted = dict(trusted) if trusted is not None else None
        self.trusted_bodies = (
            frozenset(sha256(body) for body in self.trusted.values()) if self.trusted else None
        )
        self.trusted_printed = frozenset(_printed(b) for b in self.trusted.values()) if self.trusted else None
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        hashed = _requested(request.extensions)
        if hashed is None:
            return request
        if self.trusted is None and self.cache_size == 0:
            raise PersistedQueryError(NOT_SUPPORTED, "PersistedQueryNotSupported")
        if hashed.version != 1:
            raise PersistedQueryError(
                "VALIDATION", "extensions.persistedQuery.version: only 1 is supported", 400
            )
        digest = hashed.sha256_hash
        if not isinstance(digest, str) or not digest or len(digest) > 128:
            raise PersistedQueryError(
                "VALIDATION", "extensions.persistedQuery.sha256Hash: must be a hash", 400
            )
        if request.query is None:
            document = self._lookup(digest)
            if document is None:
                raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")
            request.query = document
            return request
        if sha256(request.query) != digest.lower():
            raise PersistedQueryError(
                "VALIDATION", "extensions.persistedQuery.sha256Hash: does not match the query", 400
            )
        if self.trusted is None:
            self._remember(digest.lower(), request.query)
        return request

    def _lookup(self, digest: str) -> str | None:
        if self.trusted is not None:
            return self.trusted.get(digest) or self.trusted.get(digest.lower())
        document = self._cache.get(digest.lower())
        if document is not None:
            self._cache.move_to_end(digest.lower())
        return document

    def _remember(self, digest: str, document: str) -> None:
        if digest in self._cache or len(document) > CACHE_BYTES:
            return
        self._cache[digest] = document
        self._bytes += len(document)
        while len(self._cache) > self.cache_size or self._bytes > CACHE_BYTES:
            _, dropped = self._cache.popitem(last=False)
            self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._cache)

    def extension(self) -> type[SchemaExtension]:
        """A schema extension refusing documents outside the manifest (every transport)."""
        bodies, printed = self.trusted_bodies, self.trusted_printed

        class TrustedDocuments(SchemaExtension):
            # After parsing: a client that reformats a document (gql prints its own) still
            # sends a trusted one when the documents print the same.
            def on_execute(self) -> Iterator[None]:
                context = self.execution_context
                query, document = context.query, context.graphql_document
                trusted = query is not None and bodies is not None and sha256(query) in bodies
                if not trusted and printed is not None and document is not None:
                    trusted = print_ast(document) in printed
                if not trusted:
                    raise GraphQLError(
                        "only trusted documents run on this server: send one of the manifest's",
                        extensions={"code": "FORBIDDEN"},
                    )
                yield

        return TrustedDocuments


__all__ = ["NOT_FOUND", "NOT_SUPPORTED", "PersistedQueries", "PersistedQueryError", "load_manifest", "sha256"]
