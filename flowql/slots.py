"""Bounded subscriptions: in total and per token (`--max-subscriptions`,
`--max-subscriptions-per-token`). A subscription holds a slot from its first result to its
end; one over a bound is refused with UNAVAILABLE (try again later) and holds nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from flowql.engine.errors import ErrorCode, FlowqlError


class SubscriptionSlots:
    def __init__(self, *, total: int, per_token: int) -> None:
        self.total = total
        self.per_token = per_token
        self.open = 0
        self._by_token: Counter[str] = Counter()

    @contextmanager
    def hold(self, token: str | None) -> Iterator[None]:
        """`token`: the caller's (None when auth is off: only the total applies)."""
        if self.open >= self.total:
            raise FlowqlError(
                ErrorCode.UNAVAILABLE,
                f"the server holds its most subscriptions ({self.total}); try again later",
            )
        if token is not None and self._by_token[token] >= self.per_token:
            raise FlowqlError(
                ErrorCode.UNAVAILABLE, f"this token holds its most subscriptions ({self.per_token})"
            )
        self.open += 1
        if token is not None:
            self._by_token[token] += 1
        try:
            yield
        finally:
            self.open -= 1
            if token is not None:
                self._by_token[token] -= 1
                if not self._by_token[token]:
                    del self._by_token[token]


__all__ = ["SubscriptionSlots"]
