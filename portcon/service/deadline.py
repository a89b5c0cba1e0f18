"""A wall-clock cap on the solving part of a request (``PORTCON_MAX_SOLVE_SECONDS``).

portcon's continuous solver chain takes no time limit (only the count step has one,
``mip_time_limit``), and a running cvxpy solve cannot be interrupted from another thread. So
the service runs each request's solving on a small pool of solver threads and waits at most
the cap for it:

- finished in time: its answer goes on to be stored and sent;
- still waiting for a solver thread at the cap (the service is saturated): cancelled,
  503 ``Overloaded`` with ``Retry-After`` (retrying later can help);
- still solving at the cap: 503 ``SolveTimeout`` naming the setting. The solve runs on to
  its end in its thread, but its answer is thrown away: nothing of it is stored, so a retry
  with the same ``decision_id`` is sized afresh.

The pool is bounded, so abandoned solves cannot multiply past its size: new work then waits
(and, waiting past the cap, is answered ``Overloaded``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from portcon.service.failures import RequestRefusedError

T = TypeVar("T")
SOLVER_THREADS = max(4, 2 * (os.cpu_count() or 1))
_pool = ThreadPoolExecutor(SOLVER_THREADS, thread_name_prefix="portcon-solve")


class SolveTimeoutError(RequestRefusedError):
    """A request whose solving did not finish within the service's wall-clock cap."""

    retryable = False


class OverloadedError(RequestRefusedError):
    """A request that waited the whole cap for a free solver thread."""

    retryable = True


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()`` on a solver thread, its answer if it comes within ``seconds``.

    Raises
    ------
    SolveTimeoutError
        503 when the work was still running at the cap.
    OverloadedError
        503 when the work had not started by the cap.
    Exception
        Whatever ``work`` raises (a PortconError is answered as such).
    """
    future: Future[T] = _pool.submit(work)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        if future.cancel():
            raise OverloadedError(
                503,
                "Overloaded",
                f"every solver thread stayed busy for the {seconds:g} s cap "
                "(PORTCON_MAX_SOLVE_SECONDS); retry shortly",
            ) from None
        raise SolveTimeoutError(
            503,
            "SolveTimeout",
            f"solving took longer than the {seconds:g} s this service allows per request "
            "(PORTCON_MAX_SOLVE_SECONDS); nothing was stored. Ask with fewer assets or "
            "scenarios, or a smaller limits.mip_time_limit",
        ) from None
