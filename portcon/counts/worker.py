"""The SCIP worker process: ``python -m portcon.counts.worker READ_FD WRITE_FD``.

Receives (target, job) pairs, runs ``target(job)`` ("module:function") and sends back its
result or the exception it raised. Exits when the parent closes the pipe.
"""

from __future__ import annotations

import importlib
import sys
from multiprocessing.connection import Connection

READY = "ready"


def main(read_fd: int, write_fd: int) -> None:
    """Serve jobs until the parent goes away."""
    receive, send = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    import portcon.counts.isolate  # noqa: F401  (cvxpy and SCIP loaded before the first job)

    try:
        send.send(READY)  # the parent sends no job before this: its write would block
    except (OSError, ValueError):
        return
    while True:
        try:
            target, job = receive.recv()
        except (EOFError, OSError):
            return
        module, _, name = target.partition(":")
        try:
            result = getattr(importlib.import_module(module), name)(job)
        except Exception as error:  # sent back; the parent decides
            result = RuntimeError(f"{type(error).__name__}: {error}")
        try:
            send.send(result)
        except (OSError, ValueError):
            return


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
