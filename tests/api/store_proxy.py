"""A Store wrapper for the API tests: counts every call, and fails chosen methods on demand."""

from __future__ import annotations

import collections
import inspect
from collections.abc import Callable
from typing import Any

from flowql.engine.store import Store


class StoreProxy:
    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.calls: collections.Counter[str] = collections.Counter()
        self.failures: dict[str, BaseException] = {}

    def reset(self) -> None:
        self.calls.clear()

    @property
    def queries(self) -> int:
        return sum(self.calls.values())

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            failure = self.failures.get(name)
            if failure is not None:
                raise failure
            return await target(*args, **kwargs)

        return call


def proxy_factory(proxy_holder: list[StoreProxy]) -> Callable[[Store], StoreProxy]:
    def wrap(store: Store) -> StoreProxy:
        proxy = StoreProxy(store)
        proxy_holder.append(proxy)
        return proxy

    return wrap
