"""One SQLite writer at a time, queued: across threads by a lock, across processes by
``flock`` on a file beside the database.

SQLite has one writer at a time. A writer that finds the database locked waits in SQLite's
busy handler, which sleeps and retries with sleeps growing to 100 ms, so under load a commit
of a few milliseconds can wait hundreds. Writers queued on a lock instead wake as soon as the
one before them commits: threads of one process on a ``threading.Lock``, the processes of
``portcon serve --workers N`` on an exclusive ``flock`` of ``<database>.writer-lock`` (where
``fcntl`` exists; elsewhere only threads are queued and processes fall back on the busy
handler).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """A context manager held around each write transaction of one SQLite database.

    Parameters
    ----------
    database
        The database file's path, or None (an in-memory database: threads only).
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = None
        if fcntl is not None and database and database != ":memory:":
            self._path = Path(f"{database}.writer-lock")
        self._descriptor: int | None = None
        self._owner = -1

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        try:
            descriptor = self._file()
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._descriptor is not None:
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int | None:
        """The lock file's descriptor, opened once per process (a forked child opens its own:
        a shared open file description would share the lock)."""
        if self._path is None:
            return None
        if self._descriptor is None or self._owner != os.getpid():
            self._descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._owner = os.getpid()
        return self._descriptor
