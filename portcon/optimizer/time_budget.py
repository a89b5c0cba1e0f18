"""A wall-clock budget for everything one call solves (``construct(..., time_limit=)``).

The budget is a point in time held in a context variable, so it reaches every solve the call
makes — the convex chain, the count step, the rollover and trade-size programs, a diagnosis —
without being passed through each function, and a budget set on one thread never leaks into
another. Budgets nest: an inner one never extends an outer one.

Stopping is cooperative and bounded: each solver is given the time left as its own limit
(Clarabel ``time_limit``, OSQP ``time_limit``, SCS ``time_limit_secs``, SCIP ``limits/time``
through the count step's deadline), and every solve checks the budget before it starts. So a
call that runs out stops within one solver iteration or one model compilation of its limit,
raising :class:`~portcon.errors.TimeLimitError`, instead of running on to its end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import cvxpy as cp

from portcon.errors import InputError, TimeLimitError

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("portcon_deadline", default=None)

SOLVER_TIME_OPTIONS = {
    "CLARABEL": "time_limit",
    "OSQP": "time_limit",
    "SCS": "time_limit_secs",
    "HIGHS": "time_limit",
}
SHORTEST_SOLVER_LIMIT = 1e-3  # seconds; solvers read 0 as "no limit"


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Every solve inside the block finishes within ``seconds`` of now, or raises.

    ``None`` adds no budget (an outer one still holds).

    Raises
    ------
    InputError
        When ``seconds`` is not a positive finite number.
    """
    if seconds is None:
        yield
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InputError(f"time_limit must be a number of seconds, got {seconds!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"time_limit must be a positive number of seconds, got {seconds!r}")
    at = time.perf_counter() + float(seconds)
    outer = _deadline.get()
    budget = (at, float(seconds)) if outer is None or at < outer[0] else outer
    token = _deadline.set(budget)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the budget (never negative), or None when there is none."""
    budget = _deadline.get()
    return None if budget is None else max(0.0, budget[0] - time.perf_counter())


def check(stage: str) -> None:
    """Raise :class:`TimeLimitError` if the budget is spent; ``stage`` says what was next.

    Raises
    ------
    TimeLimitError
        When a budget is set and no time is left.
    """
    budget = _deadline.get()
    if budget is not None and time.perf_counter() >= budget[0]:
        raise limit_error(stage)


def limit_error(stage: str) -> TimeLimitError:
    """The :class:`TimeLimitError` of this budget running out before ``stage``."""
    budget = _deadline.get()
    seconds = f"{budget[1]:g} s " if budget is not None else ""
    return TimeLimitError(
        f"the {seconds}time_limit ran out before {stage}; nothing was returned. "
        "Raise time_limit, or lower mip_time_limit if position counts take the time",
        status="time limit",
    )


def solver_options(solver: str) -> dict[str, float]:
    """The solver's own time-limit option set to the time left (empty without a budget)."""
    left = remaining()
    name = SOLVER_TIME_OPTIONS.get(solver)
    if left is None or name is None:
        return {}
    return {name: max(left, SHORTEST_SOLVER_LIMIT)}


def cap(seconds: float, share: float = 1.0) -> float:
    """``seconds``, or ``share`` of the time left when that is shorter (a step's own limit)."""
    left = remaining()
    return seconds if left is None else min(seconds, share * left)


def solve_within(problem: cp.Problem, solver: str, stage: str, **options: Any) -> None:
    """``problem.solve`` with the solver's time limit set to the time left, after a check.

    Raises
    ------
    TimeLimitError
        When the budget is already spent (``stage`` names the solve that was next).
    """
    check(stage)
    problem.solve(solver=solver, **options, **solver_options(solver))
