"""Why a program is infeasible, and the smallest changes of single limits that repair it.

Cheap checks first explain the obvious cases in words. Then an elastic program gives every
relaxable Limits field f a slack δ_f ≥ 0 that moves all of its rows' bounds the way that
loosens them (∂b/∂f from the rule blocks, so a field shared by many rows moves as one number):
minimising Σ δ_f / scale_f names the limits in conflict; minimising one δ_f at a time, the
others held, gives each alternative repair {field: new value}. Every repair is checked by a
feasibility solve before it is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from portcon._text import percent
from portcon.constraints.base import Block, RowBlock, Sense, VolatilityBlock
from portcon.errors import LimitsError
from portcon.limits import Limits
from portcon.optimizer.program import Program, compile_program

LOWERED = ("target_allocation", "min_expected_return")  # fields whose decrease loosens them
NOT_RELAXABLE = ("long_only",)
MARGIN = 1e-6
DIGITS = 6


@dataclass(frozen=True)
class Diagnosis:
    """What is in conflict and how to repair it."""

    message: str
    conflicts: tuple[str, ...]
    repairs: tuple[dict[str, Any], ...]


def diagnose(program: Program) -> Diagnosis:
    """Explain an infeasible program: obvious causes in words, conflicts and repairs."""
    words = _obvious(program)
    fields = _fields(program)
    combined = _relax(program, fields)
    conflicts = sorted(f for f, amount in (combined or {}).items() if amount > 1e-9)
    repairs = []
    for field in fields:
        single = _relax(program, [field])
        if single is None:
            continue
        repair = _repair(program.limits, field, single[field])
        if repair is not None and _feasible_with(program, repair):
            repairs.append(repair)
            if field not in conflicts:
                conflicts.append(field)
    conflicts = sorted(set(conflicts))
    message = "no portfolio satisfies every limit at once"
    if words:
        message += ": " + "; ".join(words)
    if repairs:
        fixes = "; or ".join(_describe(repair, program.limits) for repair in repairs)
        message += f". Any one of these fixes it: {fixes}"
    elif conflicts:
        message += (
            f". The limits in conflict are {', '.join(conflicts)}; no single one of them can "
            "be relaxed enough on its own"
        )
    return Diagnosis(message=message, conflicts=tuple(conflicts), repairs=tuple(repairs))


def _fields(program: Program) -> list[str]:
    fields: dict[str, None] = {}
    for block in program.blocks:
        for field in block.bound_derivatives:
            if field not in NOT_RELAXABLE:
                fields[field] = None
    return list(fields)


def _direction(field: str) -> float:
    return -1.0 if field.split("[")[0] in LOWERED else 1.0


def _value(limits: Limits, field: str) -> float:
    if "[" in field:
        name, key = field.rstrip("]").split("[", 1)
        return float(getattr(limits, name)[key])
    value = getattr(limits, field)
    return float(value) if value is not None else 0.0


def _relax(program: Program, free: list[str]) -> dict[str, float] | None:
    """Least relaxation of the ``free`` fields that makes the program feasible, or None."""
    values = program.parameters()
    n = len(program.members)
    weights, cash = cp.Variable(n), cp.Variable(nonneg=True)
    slack = {field: cp.Variable(nonneg=True) for field in free}
    constraints = [weights >= 0]
    for block in program.blocks:
        if block.rule in NOT_RELAXABLE:
            continue
        bound = block.bound_values(values)
        shift = 0
        for field, derivative in block.bound_derivatives.items():
            if field in slack:
                shift = shift + _direction(field) * slack[field] * derivative
        constraints.append(_elastic_row(block, program, weights, cash, bound + shift))
    scale = {field: max(abs(_value(program.limits, field)), 0.01) for field in free}
    objective = sum((slack[f] / scale[f] for f in free), cp.Constant(0.0))
    problem = cp.Problem(cp.Minimize(objective), constraints)
    try:
        problem.solve(solver="CLARABEL")
    except cp.error.SolverError:
        return None
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return None
    return {field: float(variable.value) for field, variable in slack.items()}


def _elastic_row(
    block: Block, program: Program, weights: cp.Variable, cash: cp.Variable, bound: Any
) -> cp.Constraint:
    if isinstance(block, VolatilityBlock):
        market = program.market
        risk = cp.hstack([market.exposures.T @ weights, cp.multiply(market.specific, weights)])
        return cp.norm(risk, 2) <= bound
    if not isinstance(block, RowBlock):
        raise TypeError(f"cannot relax {type(block).__name__}")
    lhs = block.coefficients @ weights
    if block.includes_cash:
        lhs = lhs + cash
    if block.sense == Sense.LE:
        return lhs <= bound
    if block.sense == Sense.GE:
        return lhs >= bound
    return lhs == bound


def _repair(limits: Limits, field: str, amount: float) -> dict[str, Any] | None:
    """{field: new value} moving ``field`` by ``amount`` (plus a margin) the loosening way."""
    direction = _direction(field)
    current = _value(limits, field)
    moved = current + direction * (amount * (1 + MARGIN) + MARGIN)
    factor = 10**DIGITS
    moved = (np.ceil(moved * factor) if direction > 0 else np.floor(moved * factor)) / factor
    if "[" in field:
        name, key = field.rstrip("]").split("[", 1)
        change: dict[str, Any] = {name: {**dict(getattr(limits, name)), key: float(moved)}}
    else:
        change = {field: float(moved)}
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
    if not limits.allow_cash_rollover and short:
        words.append(
            f"{n} eligible asset{'s' if n != 1 else ''} × {percent(cap)} max_single_position = "
            f"{percent(n * cap)} < target_allocation {percent(limits.target_allocation)}"
        )
    mu = program.market.expected_returns
    if limits.min_expected_return is not None and mu is not None and len(mu):
        best = float(np.max(mu))
        if best < limits.min_expected_return:
            words.append(
                f"min_expected_return {percent(limits.min_expected_return)} is above the highest "
                f"expected return of any eligible asset ({percent(best)})"
            )
    return words


def _describe(change: dict[str, Any], limits: Limits) -> str:
    ((field, value),) = change.items()
    if isinstance(value, dict):
        old = dict(getattr(limits, field))
        (key,) = [k for k in value if value[k] != old.get(k)]
        return f"raise {field}[{key}] to {percent(value[key])}"
    verb = "lower" if field in LOWERED else "raise"
    return f"{verb} {field} to {percent(value)}"
