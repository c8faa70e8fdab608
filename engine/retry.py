"""Retry policy for activities: Formance's (Temporal's) backoff, 1 s doubling up to 100 s.

Formance's stages run their activities with `InfiniteRetryContext`: no attempt limit, and
only VALIDATION-class errors are final. The same here by default; a server (`--max-attempts`)
or a workflow (`config.retry.maxAttempts`) may bound it, and the smaller bound wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_attempts: int | None = None
    """None: retry until the activity succeeds, the error turns final, or the instance is cancelled."""
    initial_interval: float = 1.0
    backoff: float = 2.0
    max_interval: float = 100.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts: must be at least 1, got {self.max_attempts}")
        if self.initial_interval <= 0 or self.backoff < 1 or self.max_interval < self.initial_interval:
            raise ValueError("retry intervals: need 0 < initial <= max and backoff >= 1")

    def delay_after(self, attempt: int) -> timedelta:
        """Wait before attempt `attempt + 1`, after attempt number `attempt` (1-based) failed."""
        exponent = min(attempt - 1, 64)  # past 2^64 the cap has long been reached
        seconds = min(self.initial_interval * self.backoff**exponent, self.max_interval)
        return timedelta(seconds=seconds)

    def exhausted(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt >= self.max_attempts

    def bounded(self, max_attempts: int | None) -> RetryPolicy:
        """This policy with a workflow's own bound: the smaller of the two applies."""
        if max_attempts is None:
            return self
        if self.max_attempts is not None:
            max_attempts = min(max_attempts, self.max_attempts)
        return replace(self, max_attempts=max_attempts)


class TransientError(Exception):
    """An activity failure worth retrying (a store hiccup, a remote ledger timeout)."""
