"""The maximum-Sharpe portfolio under the program's limits, and its equivalent risk aversion.

max μᵀw / √(wᵀΣw) is not convex, but with y = κ w it becomes: minimise yᵀΣy subject to
μᵀy = 1, the budget Σ y = κ · target, and every limit homogenised (A y ≤ b κ, the volatility
cap ‖·‖ ≤ σ κ). At its answer w* = y / κ the KKT conditions are those of the mean-variance
program with γ* = μᵀw* / (w*ᵀΣw*), so portcon sizes (and explains) max_sharpe as mean-variance
at γ*: same weights, and the explanations of a program with duals in weight space.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from portcon.constraints.base import Block, factor_risk
from portcon.errors import LimitsError, SolverError
from portcon.market import MarketData


def equivalent_risk_aversion(
    market: MarketData, blocks: list[Block], bounds: dict[str, np.ndarray], target: float
) -> float:
    """γ* of the maximum-Sharpe portfolio under ``blocks``.

    Raises
    ------
    LimitsError
        When no portfolio within the limits has a positive expected return, or the limits
        cannot invest the target.
    SolverError
        When the solver fails.
    """
    mu = market.expected_returns
    if mu is None or not np.any(mu > 0):
        raise LimitsError("max_sharpe needs an asset with a positive expected return")
    n = len(mu)
    y, scale = cp.Variable(n), cp.Variable(nonneg=True)
    risk = factor_risk(y, *market.require_risk())
    constraints = [mu @ y == 1]
    for block in blocks:
        bound = block.bound_values(bounds)
        if block.includes_cash:  # the budget: Σy = κ · target, no cash in the homogenised form
            constraints.append(cp.sum(y) == target * scale)
            continue
        constraints.append(block.over(y, 0, bound * scale))
    problem = cp.Problem(cp.Minimize(cp.sum_squares(risk)), constraints)
    try:
        problem.solve(solver="CLARABEL")
    except cp.error.SolverError as error:
        raise SolverError(f"max_sharpe: {error}", solver="CLARABEL") from error
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise LimitsError(
            "max_sharpe: no portfolio within the limits invests target_allocation with a "
            "positive expected return; loosen the caps or lower target_allocation"
        )
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or not scale.value:
        raise SolverError(f"max_sharpe: solver status {problem.status}", solver="CLARABEL")
    weights = np.asarray(y.value) / float(scale.value)
    return float(mu @ weights) / _variance(market, weights)


def _variance(market: MarketData, weights: np.ndarray) -> float:
    exposures, specific = market.require_risk()
    factor = exposures.T @ weights
    return float(factor @ factor + np.sum((specific * weights) ** 2))
