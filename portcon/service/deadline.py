"""A wall-clock cap on the solving part of a request (``PORTCON_MAX_SOLVE_SECONDS``).

The service runs each request's solving on a small pool of solver threads under a portcon
time budget (:func:`portcon.optimizer.time_budget.time_limit`) of the cap less the time the
request waited for a thread, and waits for it at most the cap and a short grace:

- finished in time: its answer goes on to be stored and sent;
- still waiting for a solver thread at the cap (the service is saturated): cancelled,
  503 ``Overloaded`` with ``Retry-After`` (retrying later can help);
- out of time while solving: the solve stops itself (every solver was given the time left
  as its own limit, and each solve checks the budget before it starts) and the answer is
  503 ``SolveTimeout`` naming the setting. Nothing of it is stored, so a retry with the same
  ``decision_id`` is sized afresh. A step that cannot be interrupted (compiling a large model
  for the first time) may run on past the grace in its thread; the request is answered at
  the grace all the same, and the pool's bound keeps such steps from multiplying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from portcon.errors import TimeLimitError
from portcon.optimizer.time_budget import time_limit
from portcon.service.failures import RequestRefusedError

T = TypeVar("T")
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
GRACE_SECONDS = 0.5  # past the cap: a solver stopping at its own limit finishes its iteration


class SolveTimeoutError(RequestRefusedError):
    """A request whose solving did not finish within the service's wall-clock cap."""

    retryable = False


class OverloadedError(RequestRefusedError):
    """A request that waited the whole cap for a free solver thread."""

    retryable = True


def within(seconds: float, work: Callable[[], T], threads: int) -> T:
    """``work()`` on one of ``threads`` solver threads (per process), its answer if it comes
    within ``seconds``.

    Raises
    ------
    SolveTimeoutError
        503 when the work was still running at the cap.
    OverloadedError
        503 when the work had not started by the cap.
    Exception
        Whatever ``work`` raises (a PortconError is answered as such).
    """
    submitted = time.perf_counter()

    def bounded() -> T:
        left = seconds - (time.perf_counter() - submitted)
        if left <= 0:
            raise _overloaded(seconds)
        with time_limit(left):
            return work()

    future: Future[T] = _pool(threads).submit(bounded)
    try:
        return future.result(timeout=seconds + GRACE_SECONDS)
    except TimeLimitError:
        raise _timed_out(seconds) from None
    except FutureTimeout:
        if future.cancel():
            raise _overloaded(seconds) from None
        raise _timed_out(seconds) from None


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="portcon-solve")
        return _pools[threads]


def _overloaded(seconds: float) -> OverloadedError:
    return OverloadedError(
        503,
        "Overloaded",
        f"every solver thread stayed busy for the {seconds:g} s cap "
        "(PORTCON_MAX_SOLVE_SECONDS); retry shortly",
    )


def _timed_out(seconds: float) -> SolveTimeoutError:
    return SolveTimeoutError(
        503,
        "SolveTimeout",
        f"solving took longer than the {seconds:g} s this service allows per request "
        "(PORTCON_MAX_SOLVE_SECONDS); nothing was stored. Ask with fewer assets or "
        "scenarios, or a smaller limits.mip_time_limit",
    )
