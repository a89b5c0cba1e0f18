"""Diagnosis of count-driven infeasibility: every limit whose relaxation alone restores
feasibility, with the smallest such change found by a verified search.

Feasibility of a changed set of limits is decided by re-solving it the way construct does
(convex program, then the count step with SCIP's proof); a value is only offered as a repair
after that re-solve found a portfolio. Integer fields (position counts) are searched by
bisection over integers, continuous ones by bisection to 1e-4 and rounded the safe way; the
bisection assumes feasibility is monotone in the field, and the final value is re-checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from portcon.counts.deadline import Deadline
from portcon.counts.rules import Counts, count_conflict, count_fields, derive_counts, violated
from portcon.errors import InfeasibleError, LimitsError, PortconError
from portcon.limits import Limits, MipMethod
from portcon.optimizer import time_budget
from portcon.optimizer.model import build
from portcon.optimizer.program import Program, compile_program
from portcon.optimizer.solve import solve

STEPS = 14  # bisection steps for a continuous field
DIGITS = 4
ORACLE_SECONDS = 3.0  # per feasibility check (SCIP's proof of a small count problem)


def capacity_proof(program: Program, counts: Counts) -> str | None:
    """A sentence proving infeasibility without search, or None.

    Without cash rollover the target must be invested: with at most K positions the most
    that can be invested is the sum of the K largest per-asset bounds.
    """
    limits = program.limits
    if limits.allow_cash_rollover or limits.max_total_positions is None:
        return None
    most = np.sort(counts.upper)[::-1][: limits.max_total_positions].sum()
    if most < limits.target_allocation - 1e-9:
        return (
            f"max_total_positions={limits.max_total_positions} positions of at most "
            f"{100 * counts.upper.max():.1f}% each invest at most {100 * most:.1f}% < "
            f"target_allocation {100 * limits.target_allocation:.1f}% (allow_cash_rollover "
            "is false)"
        )
    return None


def diagnosed(
    program: Program, correlations: np.ndarray | None, error: InfeasibleError
) -> InfeasibleError:
    """``error`` with every field whose relaxation restores feasibility, and its repair."""
    deadline = Deadline(time_budget.cap(max(program.limits.mip_time_limit, 10.0)))
    conflicts: list[str] = []
    repairs: list[dict[str, Any]] = []
    for field, search in _searches(program.limits, len(program.members)).items():
        if deadline.passed():
            break
        value = search(lambda limits: _feasible(program, limits, correlations, deadline))
        if value is not _NONE:
            conflicts.append(field)
            repairs.append({field: value})
    counts = derive_counts(program, correlations)
    message = capacity_proof(program, counts) or str(error) or count_conflict(program, counts)
    if repairs:
        message += "; each of these alone would make it feasible: " + ", ".join(
            f"{field}={value}" for repair in repairs for field, value in repair.items()
        )
    return InfeasibleError(message, conflicts=conflicts or count_fields(counts), repairs=repairs)


_NONE = object()
Oracle = Callable[[Limits], bool | None]


def _searches(limits: Limits, size: int) -> dict[str, Callable[[Oracle], Any]]:
    searches: dict[str, Callable[[Oracle], Any]] = {}

    def integer(field: str, low: int, high: int, up: bool) -> None:
        searches[field] = lambda oracle: _integer(limits, field, low, high, up, oracle)

    def real(field: str, low: float, high: float, up: bool) -> None:
        searches[field] = lambda oracle: _real(limits, field, low, high, up, oracle)

    if limits.max_total_positions is not None:
        integer("max_total_positions", limits.max_total_positions + 1, size, True)
    if limits.max_new_positions is not None:
        integer("max_new_positions", limits.max_new_positions + 1, size, True)
    if limits.max_positions_per_bucket is not None:
        integer("max_positions_per_bucket", limits.max_positions_per_bucket + 1, size, True)
    if limits.min_buckets_represented is not None and limits.min_buckets_represented > 0:
        integer("min_buckets_represented", 0, limits.min_buckets_represented - 1, False)
    if limits.min_position_size is not None:
        real("min_position_size", 0.0, limits.min_position_size, False)
    if limits.correlation_limit is not None:
        real("correlation_limit", limits.correlation_limit, 1.0, True)
    if not limits.allow_cash_rollover:
        searches["allow_cash_rollover"] = lambda oracle: (
            True if oracle(limits.replace(allow_cash_rollover=True)) else _NONE
        )
        real("target_allocation", 0.01, limits.target_allocation, False)
    if limits.max_single_position is not None and limits.max_single_position < 1.0:
        real("max_single_position", limits.max_single_position, 1.0, True)
    if limits.max_bucket_allocation is not None and limits.max_bucket_allocation < 1.0:
        real("max_bucket_allocation", limits.max_bucket_allocation, 1.0, True)
    return searches


def _changed(limits: Limits, field: str, value: Any) -> Limits | None:
    try:
        return limits.replace(**{field: value})
    except LimitsError:
        return None


def _check(limits: Limits, field: str, value: Any, oracle: Oracle) -> bool:
    changed = _changed(limits, field, value)
    return changed is not None and oracle(changed) is True


def _integer(limits: Limits, field: str, low: int, high: int, up: bool, oracle: Oracle) -> Any:
    """The loosest-needed integer: smallest feasible in [low, high] (up) or largest (down)."""
    if low > high or not _check(limits, field, high if up else low, oracle):
        return _NONE
    good, bad = (high, low - 1) if up else (low, high + 1)
    while abs(good - bad) > 1:
        middle = (good + bad) // 2
        if _check(limits, field, middle, oracle):
            good = middle
        else:
            bad = middle
    return good


def _real(limits: Limits, field: str, low: float, high: float, up: bool, oracle: Oracle) -> Any:
    """The smallest feasible value in [low, high] (up) or the largest (down), to 1e-4."""
    good, bad = (high, low) if up else (low, high)
    if not _check(limits, field, good, oracle):
        return _NONE
    for _ in range(STEPS):
        middle = 0.5 * (good + bad)
        if _check(limits, field, middle, oracle):
            good = middle
        else:
            bad = middle
    factor = 10**DIGITS
    rounded = (math.ceil(good * factor) if up else math.floor(good * factor)) / factor
    rounded = min(max(rounded, min(low, high)), max(low, high))
    if rounded != good and _check(limits, field, rounded, oracle):
        return rounded
    return good


def _feasible(
    program: Program, limits: Limits, correlations: np.ndarray | None, deadline: Deadline
) -> bool | None:
    """Whether construct would find a portfolio under ``limits`` (None: not decided)."""
    from portcon.counts.mip import select

    if deadline.passed():
        return None
    try:
        changed = compile_program(program.universe, limits, program.universe_market)
        if not len(changed.members):
            return False
        relaxation = solve(changed, build(changed))
        counts = derive_counts(changed, correlations)
        if not violated(relaxation.weights, counts):
            return True
        exact = limits.replace(mip_method=MipMethod.EXACT)
        changed = compile_program(program.universe, exact, program.universe_market)
        select(changed, counts, relaxation, Deadline(min(ORACLE_SECONDS, deadline.remaining())))
    except InfeasibleError:
        return False
    except PortconError:
        return None
    return True
