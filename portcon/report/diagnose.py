"""Why a program is infeasible, and the smallest changes of single limits that repair it.

Cheap checks first explain the obvious cases in words. Then an elastic program gives every
relaxable Limits field f a slack δ_f ≥ 0 that moves all of its rows' bounds the way that
loosens them (∂b/∂f from the rule blocks, so a field shared by many rows moves as one number):
minimising Σ δ_f / scale_f names the limits in conflict; minimising one δ_f at a time, the
others held, gives each alternative repair {field: new value}. Every repair is checked by a
feasibility solve before it is offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from portcon._text import format_limit, percent
from portcon.constraints.keys import LimitKey
from portcon.errors import LimitsError
from portcon.limits import Limits
from portcon.optimizer import time_budget
from portcon.optimizer.program import Program, compile_program
from portcon.report.diagnose_exposure import LOWERED_EXPOSURE, exposure_words
from portcon.report.diagnose_floors import (
    SPECIAL,
    column_sentence,
    describe_relation,
    floor_direction,
    relation_repair,
)

# fields whose decrease loosens them
LOWERED = ("target_allocation", "min_expected_return", *LOWERED_EXPOSURE)
NOT_RELAXABLE = ("long_only",)
MARGIN = 1e-6
DIGITS = 6


Settle = Callable[[dict[str, Any]], dict[str, Any] | None]
"""A last check of a repair by the caller: the repair that works, or None."""


@dataclass(frozen=True)
class Diagnosis:
    """What is in conflict and how to repair it."""

    message: str
    conflicts: tuple[str, ...]
    repairs: tuple[dict[str, Any], ...]


def diagnose(program: Program, settle: Settle | None = None) -> Diagnosis:
    """Explain an infeasible program: obvious causes in words, conflicts and repairs.

    Every repair offered makes this program feasible on its own. ``settle``, when given, has
    the last word on each: it returns the repair (perhaps moved further, e.g. past what the
    position-count stage needs) that makes the whole construction succeed, or None to drop it.
    """
    words = _obvious(program)
    keys = _relaxable(program)
    combined = _relax(program, keys)
    conflicts = [key for key, amount in (combined or {}).items() if amount > 1e-9]
    repairs: list[dict[str, Any]] = []
    described: list[str] = []
    for key in keys:
        single = _relax(program, [key])
        if single is None:
            continue
        repair = _repair(program.limits, key, single[key])
        if repair is None and key.field == "floor_weight":
            described.append(column_sentence(program, key, single[key], MARGIN))
            conflicts.append(key)
        if repair is not None and _feasible_with(program, repair) and settle is not None:
            repair = settle(repair)
        elif repair is not None and not _feasible_with(program, repair):
            repair = None
        if repair is not None:
            repairs.append(repair)
            described.append(_describe(key, program.limits, repair))
            if key not in conflicts:
                conflicts.append(key)
    labels = sorted({str(key) for key in conflicts})
    message = "no portfolio satisfies every limit at once"
    if words:
        message += ": " + "; ".join(words)
    if described:
        message += f". Any one of these fixes it: {'; or '.join(described)}"
    elif conflicts:
        message += (
            f". The limits in conflict are {', '.join(labels)}; no single one of them can be "
            "relaxed enough on its own"
        )
    return Diagnosis(message=message, conflicts=tuple(labels), repairs=tuple(repairs))


def _relaxable(program: Program) -> list[LimitKey]:
    keys: dict[LimitKey, None] = {}
    for block in program.blocks:
        for key in block.bound_derivatives:
            if key.field not in NOT_RELAXABLE and floor_direction(key) != 0:
                keys[key] = None
    return list(keys)


def _direction(key: LimitKey) -> float:
    special = floor_direction(key)
    if special is not None:
        return special
    return -1.0 if key.field in LOWERED else 1.0


def _relax(program: Program, free: list[LimitKey]) -> dict[LimitKey, float] | None:
    """Least relaxation of the ``free`` limits that makes the program feasible, or None."""
    values = program.parameters()
    n = len(program.members)
    weights, cash = cp.Variable(n), cp.Variable(nonneg=True)
    slack = {key: cp.Variable(nonneg=True) for key in free}
    constraints = []  # long_only rows stay as they are: they have no relaxable field
    for block in program.blocks:
        bound = block.bound_values(values)
        shift = 0
        for key, derivative in block.bound_derivatives.items():
            if key in slack:
                shift = shift + _direction(key) * slack[key] * derivative
        constraints.append(block.over(weights, cash, bound + shift))
    scale = {key: max(abs(key.value(program.limits) or 0.0), 0.01) for key in free}
    objective = sum((slack[key] / scale[key] for key in free), cp.Constant(0.0))
    problem = cp.Problem(cp.Minimize(objective), constraints)
    try:
        time_budget.solve_within(problem, "CLARABEL", "the least relaxation could be found")
    except cp.error.SolverError:
        return None
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return None
    relaxation: dict[LimitKey, float] = {}
    for key, variable in slack.items():
        if variable.value is None:  # not expected after an optimal status
            return None
        relaxation[key] = float(variable.value)
    return relaxation


def _repair(limits: Limits, key: LimitKey, amount: float) -> dict[str, Any] | None:
    """The Limits change moving ``key`` by ``amount`` (plus a margin) the loosening way."""
    direction = _direction(key)
    current = key.value(limits) or 0.0
    moved = current + direction * (amount * (1 + MARGIN) + MARGIN)
    factor = 10**DIGITS
    moved = (np.ceil(moved * factor) if direction > 0 else np.floor(moved * factor)) / factor
    change = (
        relation_repair(limits, key, float(moved))
        if key.field in SPECIAL
        else key.moved_to(limits, float(moved))
    )
    if change is None:
        return None
    try:
        limits.replace(**change)
    except LimitsError:
        return None
    return change


def _feasible_with(program: Program, change: dict[str, Any]) -> bool:
    try:
        limits = program.limits.replace(**change)
        repaired = compile_program(program.universe, limits, program.universe_market)
    except LimitsError:
        return False
    return _relax(repaired, []) is not None


def _obvious(program: Program) -> list[str]:
    """Plain-words causes found without solving."""
    limits, words = program.limits, []
    n = len(program.members)
    cap = limits.max_single_position
    short = cap is not None and n * cap < limits.target_allocation - 1e-12
    if short and cap is not None and not limits.allow_cash_rollover:
        words.append(
            f"{n} eligible asset{'s' if n != 1 else ''} × {percent(cap)} max_single_position = "
            f"{percent(n * cap)} < target_allocation {percent(limits.target_allocation)}"
        )
    words.extend(exposure_words(program))
    mu = program.market.expected_returns
    if limits.min_expected_return is not None and mu is not None and len(mu):
        best = float(np.max(mu))
        if best < limits.min_expected_return:
            words.append(
                f"min_expected_return {percent(limits.min_expected_return)} is above the highest "
                f"expected return of any eligible asset ({percent(best)})"
            )
    return words


def _describe(key: LimitKey, limits: Limits, change: dict[str, Any]) -> str:
    if key.field == "group_relations":
        return describe_relation(key, limits, change)
    value = change[key.field]
    if key.name is not None:
        value = value[key.name]
    verb = "lower" if _direction(key) < 0 else "raise"
    return f"{verb} {key} to {format_limit(key.field, float(value))}"
