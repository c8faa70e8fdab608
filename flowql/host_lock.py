"""SQLite is single-host: one `flowql serve` per database file, enforced by an OS lock.

The lock is `flock(LOCK_EX | LOCK_NB)` on `<file>.lock` beside the database, held for the
life of the process. The kernel drops it when the process ends however it ends (SIGKILL
included), so a crashed server never leaves a stale lock to clean by hand, and a restart
takes it at once. The file holds the holder's node id, so the refusal names it.

Why refuse rather than coordinate: two processes on one SQLite file would each resume
every instance; SQLite's own locking keeps the file consistent but would let both drive
the same instance (the version compare-and-set makes one lose each step, at the cost of
doubled work and timers firing twice). Several replicas are what MongoDB is for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from flowql.engine.errors import StartRefused

SUFFIX = ".lock"


class HostLock:
    """An exclusive lock on one SQLite database file, released by `release()` or process exit."""

    def __init__(self, fd: int, path: str) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, database: str, *, node_id: str) -> HostLock:
        """Take the lock or raise `StartRefused` naming the process that holds it."""
        path = database + SUFFIX
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StartRefused(f"cannot create the lock file {path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd) or "another process"
            os.close(fd)
            raise StartRefused(
                f"SQLite store {database} is in use by flowql {holder}; SQLite is single-host "
                "(one flowql serve per file): use a MongoDB store for several replicas"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, node_id.encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 256, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


__all__ = ["SUFFIX", "HostLock"]
