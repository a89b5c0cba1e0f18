"""Active-set Newton polish of an interior-point answer.

Interior-point solvers stop a little inside the feasible set: weights are accurate to about
the solver tolerance only where the problem is well conditioned, and a binding volatility
cone leaves a flat direction along which weights drift by ~1e-6. Polishing fixes the active
set the solver identified, solves the KKT conditions of that equality-constrained problem by
Newton's method, and keeps the result only if it is feasible, every multiplier has the right
sign, and the stationarity residual is smaller than before. Otherwise the solver's answer
stands.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from portcon.constraints.base import Block, RowBlock, Sense
from portcon.optimizer.program import Program
from portcon.optimizer.solve import Solution

ACTIVE = 1e-7
LARGEST = 1500  # dense KKT systems beyond this size cost more than they are worth
STEPS = 8
CONVERGED = 1e-14
FEASIBLE = 1e-12
SIGN = 1e-9
ALREADY_EXACT = 1e-10  # stationarity residual below which the solver's answer is kept as is


@dataclasses.dataclass
class _ActiveSet:
    fixed: dict[int, tuple[int, int, float]]  # asset -> (block, row, bound)
    rows: list[tuple[int, int]]  # (block, row) of active general rows
    constant: np.ndarray  # stationarity part of rows whose multiplier is held fixed


def polish(program: Program, solution: Solution) -> Solution:
    """A more exact solution on the same active set, or ``solution`` unchanged."""
    objective = program.objective
    weights = solution.weights
    if len(weights) > LARGEST or objective.hessian(weights) is None:
        return solution
    before = _residual(program, solution, weights, solution.multipliers)
    if before <= ALREADY_EXACT:
        return solution
    active = _active_set(solution)
    free = np.array([i for i in range(len(weights)) if i not in active.fixed], dtype=int)
    point = weights.copy()
    for asset, (_, _, bound) in active.fixed.items():
        point[asset] = bound
    lam = np.array([solution.multipliers[k][r] for k, r in active.rows], dtype=float)
    for _ in range(STEPS):
        gradients = _row_gradients(solution.blocks, active.rows, point)
        stationarity = _gradient(program, point) + gradients.T @ lam + active.constant
        gaps = np.array(
            [solution.blocks[k].values(point)[r] - _bound(solution, k, r) for k, r in active.rows]
        )
        residual = np.concatenate([stationarity[free], gaps])
        if residual.size == 0 or np.max(np.abs(residual)) < CONVERGED:
            break
        hessian = objective.hessian(point)
        for (k, _), multiplier in zip(active.rows, lam, strict=True):
            curvature = solution.blocks[k].curvature(point, np.array([multiplier]))
            if curvature is not None:
                hessian = hessian + curvature
        step = _newton_step(hessian, gradients, free, residual)
        point[free] += step[: len(free)]
        lam += step[len(free) :]
    candidate = _multipliers(program, solution, active, point, lam)
    if candidate is None or not _feasible(solution, point):
        return solution
    if _residual(program, solution, point, candidate) >= before:
        return solution
    cash = max(0.0, float(program.limits.target_allocation - point.sum()))
    return dataclasses.replace(
        solution,
        weights=point,
        cash=cash,
        multipliers=candidate,
        objective=objective.value(point, cash),
    )


def _bound(solution: Solution, block: int, row: int) -> float:
    return float(solution.blocks[block].bound_values(solution.bounds)[row])


def _slacks(block: Block, solution: Solution, weights: np.ndarray) -> np.ndarray:
    values = block.values(weights)
    bound = block.bound_values(solution.bounds)
    return values - bound if block.sense == Sense.GE else bound - values


def _active_set(solution: Solution) -> _ActiveSet:
    fixed: dict[int, tuple[int, int, float]] = {}
    rows: list[tuple[int, int]] = []
    constant = np.zeros(len(solution.weights))
    for k, block in enumerate(solution.blocks):
        slack = _slacks(block, solution, solution.weights)
        bound = block.bound_values(solution.bounds)
        per_asset = isinstance(block, RowBlock) and block.is_identity and block.sense != Sense.EQ
        for r in range(block.rows):
            if block.includes_cash and solution.cash > ACTIVE:
                # cash absorbs this row: its multiplier is pinned by the cash penalty
                prices = np.zeros(block.rows)
                prices[r] = solution.multipliers[k][r]
                constant += block.pullback(solution.weights, prices)
            elif per_asset and abs(slack[r]) <= ACTIVE:
                fixed.setdefault(r, (k, r, float(bound[r])))
            elif not per_asset and (block.sense == Sense.EQ or abs(slack[r]) <= ACTIVE):
                rows.append((k, r))
    return _ActiveSet(fixed=fixed, rows=rows, constant=constant)


def _row_gradients(
    blocks: list[Block], rows: list[tuple[int, int]], point: np.ndarray
) -> np.ndarray:
    if not rows:
        return np.zeros((0, len(point)))
    return np.vstack([blocks[k].gradients(point)[r] for k, r in rows])


def _gradient(program: Program, point: np.ndarray) -> np.ndarray:
    lower, _ = program.objective.subgradient(point)
    return lower


def _newton_step(
    hessian: np.ndarray, gradients: np.ndarray, free: np.ndarray, residual: np.ndarray
) -> np.ndarray:
    jacobian_rows = gradients[:, free]
    size = len(free) + len(jacobian_rows)
    system = np.zeros((size, size))
    system[: len(free), : len(free)] = hessian[np.ix_(free, free)]
    system[: len(free), len(free) :] = jacobian_rows.T
    system[len(free) :, : len(free)] = jacobian_rows
    step, *_ = np.linalg.lstsq(system, -residual, rcond=None)
    return step


def _multipliers(
    program: Program,
    solution: Solution,
    active: _ActiveSet,
    point: np.ndarray,
    lam: np.ndarray,
) -> list[np.ndarray] | None:
    """Multipliers of every row at ``point``; None if one has the wrong sign."""
    prices = [np.zeros(block.rows) for block in solution.blocks]
    for k, block in enumerate(solution.blocks):
        if block.includes_cash and solution.cash > ACTIVE:
            prices[k] = solution.multipliers[k].copy()
    for (k, r), multiplier in zip(active.rows, lam, strict=True):
        prices[k][r] = multiplier
    paid = sum(
        (
            block.pullback(point, price)
            for block, price in zip(solution.blocks, prices, strict=True)
        ),
        np.zeros(len(point)),
    )
    stationarity = _gradient(program, point) + paid
    for asset, (k, r, _) in active.fixed.items():
        prices[k][r] = -stationarity[asset]
    for block, price in zip(solution.blocks, prices, strict=True):
        if block.sense == Sense.LE and np.any(price < -SIGN):
            return None
        if block.sense == Sense.GE and np.any(price > SIGN):
            return None
    return prices


def _feasible(solution: Solution, point: np.ndarray) -> bool:
    return all(
        np.all(_slacks(block, solution, point) >= -FEASIBLE)
        for block in solution.blocks
        if block.sense != Sense.EQ
    ) and bool(np.all(np.isfinite(point)))


def _residual(
    program: Program, solution: Solution, point: np.ndarray, prices: list[np.ndarray]
) -> float:
    paid = sum(
        (
            block.pullback(point, price)
            for block, price in zip(solution.blocks, prices, strict=True)
        ),
        np.zeros(len(point)),
    )
    return float(np.max(np.abs(_gradient(program, point) + paid), initial=0.0))
