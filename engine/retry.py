"""Retry policy for activities: exponential backoff up to a number of attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_interval: float = 0.1
    backoff: float = 2.0
    max_interval: float = 30.0

    def delay_after(self, attempt: int) -> timedelta:
        """Wait before attempt `attempt + 1`, after attempt number `attempt` (1-based) failed."""
        seconds = min(self.initial_interval * self.backoff ** (attempt - 1), self.max_interval)
        return timedelta(seconds=seconds)

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


class TransientError(Exception):
    """An activity failure worth retrying (a store hiccup, a remote ledger timeout)."""
