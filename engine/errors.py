"""The one domain error type every layer maps to its own wire format."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    UNAVAILABLE = "UNAVAILABLE"
    """A bound is full (subscriptions, connections) or the store cannot be reached: try again later."""
    INTERNAL = "INTERNAL"


class FlowqlError(Exception):
    """A failure a client can act on: a code, a message naming the field, the field's path."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"FlowqlError({self.code.value}, {self.message!r}, field={self.field!r})"


UNAVAILABLE_MESSAGE = "the store is unavailable; retry later"
_unavailable: tuple[type[BaseException], ...] = ()


def register_unavailable(*errors: type[BaseException]) -> None:
    """Driver exceptions that mean "the store cannot be reached" (registered by whoever opens
    the store, so the engine never imports a driver): they answer UNAVAILABLE, not INTERNAL."""
    global _unavailable
    _unavailable = tuple(dict.fromkeys((*_unavailable, *errors)))


def is_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, _unavailable) or (
        isinstance(error, FlowqlError) and error.code is ErrorCode.UNAVAILABLE
    )


def validation(message: str, *, field: str | None = None) -> FlowqlError:
    return FlowqlError(ErrorCode.VALIDATION, message, field=field)


def shown(value: str) -> str:
    """A value quoted in an error message, cut to 40 characters (an error never echoes a
    client's 400 KB id back at it)."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def not_found(what: str, ident: str) -> FlowqlError:
    return FlowqlError(ErrorCode.NOT_FOUND, f"{what} {shown(ident)} not found")


def conflict(message: str) -> FlowqlError:
    return FlowqlError(ErrorCode.CONFLICT, message)


class InsufficientFunds(FlowqlError):
    """A posting refused for want of funds: VALIDATION to a client, but an activity that
    meets it is retried (Formance retries until the account is funded)."""

    def __init__(self, account: str, asset: str, available: int, needed: int) -> None:
        super().__init__(
            ErrorCode.VALIDATION,
            f"source: insufficient funds on account {account!r} "
            f"({available} {asset} available, {needed} needed)",
            field="source",
        )


class VersionConflict(FlowqlError):
    """A compare-and-set write lost: someone else changed the record first."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(ErrorCode.CONFLICT, f"{kind} {ident!r} was modified concurrently")


class LeaseLost(VersionConflict):
    """A save was refused because another replica took the instance over (its epoch moved)."""

    def __init__(self, ident: str) -> None:
        super().__init__("instance", ident)
        self.message = f"instance {ident!r} was taken over by another replica"


class StartRefused(Exception):
    """The process must not start (a second process on a single-host store, a lease TTL that
    disagrees with the running replicas'): one line for the operator, no traceback."""
