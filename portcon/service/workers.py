"""Several service processes on one port, each with its own listening socket (SO_REUSEPORT).

uvicorn's own ``--workers`` shares one listening socket among its processes, and the process
that wakes first accepts every connection waiting: a client that opens its keep-alive
connections at once (a trading engine's connection pool, the 16 clients of
``benchmarks/bench_service.py``) was served by one process while the others idled (measured:
640 of 640 requests on one of two workers). Here each process binds its own socket to the
same address with ``SO_REUSEPORT``, and the kernel spreads new connections over the sockets
by a hash of their addresses.

The parent only supervises: it restarts a worker that dies, and stops them all on SIGTERM or
SIGINT. On Linux a worker also asks to be sent SIGTERM when its parent dies (a SIGKILLed
supervisor leaves no worker serving on its port). Where ``SO_REUSEPORT`` is missing
``portcon serve`` uses uvicorn's workers instead (:func:`available`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

APP = "portcon.service.app:create_served_app"
PR_SET_PDEATHSIG = 1  # prctl(2)
RESTART_PAUSE = 1.0  # seconds between restarts of a worker that keeps dying


def available() -> bool:
    """Whether this platform gives each process its own socket on a shared port."""
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def bound_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A socket bound to ``(host, port)`` with ``SO_REUSEPORT`` (listening unless told not
    to: the kernel hands connections only to listening sockets)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve(host: str, port: int, workers: int, log_level: str = "warning") -> None:
    """Run ``workers`` service processes on ``host:port`` until SIGTERM or SIGINT."""
    context = multiprocessing.get_context("spawn")
    # bound (not listening) here first, so a port in use fails at once, not in every worker
    bound_socket(host, port, listen=False).close()
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(
            target=_worker, args=(host, port, log_level, os.getpid()), daemon=False
        )
        process.start()
        return process

    def stop(number: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    running = [start() for _ in range(workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(running):
                if not process.is_alive() and not stopping:
                    time.sleep(RESTART_PAUSE)
                    running[i] = start()
    finally:
        for process in running:
            if process.is_alive():
                process.terminate()
        for process in running:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _worker(host: str, port: int, log_level: str, parent: int) -> None:
    """One service process on its own socket; ends with its parent."""
    import uvicorn

    _end_with_parent(parent)
    sock = bound_socket(host, port)
    config = uvicorn.Config(APP, factory=True, log_level=log_level)
    uvicorn.Server(config).run(sockets=[sock])


def _end_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent dies; exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        raise SystemExit(0)
