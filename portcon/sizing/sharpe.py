"""The maximum-Sharpe portfolio under the program's limits, and its equivalent risk aversion.

max μᵀw / √(wᵀΣw) is not convex, but with y = κ w it becomes: minimise yᵀΣy subject to
μᵀy = 1, the budget Σ y = κ · target, and every limit homogenised (A y ≤ b κ, the volatility
cap ‖·‖ ≤ σ κ). At its answer w* = y / κ the KKT conditions are those of the mean-variance
program with γ* = μᵀw* / (w*ᵀΣw*), so portcon sizes (and explains) max_sharpe as mean-variance
at γ*: same weights, and the explanations of a program with duals in weight space.
:func:`ratio_risk_aversion` does this for any gain vector g (μ here, the volatilities σ for
max_diversification).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from portcon.constraints.base import Block, factor_risk
from portcon.errors import LimitsError, SolverError
from portcon.market import MarketData
from portcon.optimizer import time_budget


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
    return ratio_risk_aversion(
        market, blocks, bounds, target, gain=mu, mode="max_sharpe", what="expected return"
    )


def ratio_risk_aversion(
    market: MarketData,
    blocks: list[Block],
    bounds: dict[str, np.ndarray],
    target: float,
    *,
    gain: np.ndarray,
    mode: str,
    what: str,
) -> float:
    """γ* = gᵀw*/(w*ᵀΣw*) of the portfolio maximising gᵀw / √(wᵀΣw) under ``blocks``.

    Solved homogenised (y = κw): minimise yᵀΣy subject to gᵀy = 1, Σy = κ · target and
    every block homogenised. ``mode`` and ``what`` (the name of gᵀw) word the errors.

    Raises
    ------
    LimitsError
        When no portfolio within the limits has gᵀw > 0, or the limits cannot invest the
        target.
    SolverError
        When the solver fails.
    """
    n = len(gain)
    y, scale = cp.Variable(n), cp.Variable(nonneg=True)
    risk = factor_risk(y, *market.require_risk())
    constraints = [gain @ y == 1]
    for block in blocks:
        bound = block.bound_values(bounds)
        if block.includes_cash:  # the budget: Σy = κ · target, no cash in the homogenised form
            constraints.append(cp.sum(y) == target * scale)
            continue
        constraints.append(block.over(y, 0, bound * scale))
    problem = cp.Problem(cp.Minimize(cp.sum_squares(risk)), constraints)
    try:
        time_budget.solve_within(problem, "CLARABEL", f"{mode} could be homogenised")
    except cp.error.SolverError as error:
        raise SolverError(f"{mode}: {error}", solver="CLARABEL") from error
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise LimitsError(
            f"{mode}: no portfolio within the limits invests target_allocation with a "
            f"positive {what}; loosen the caps or lower target_allocation"
        )
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or not scale.value:
        raise SolverError(f"{mode}: solver status {problem.status}", solver="CLARABEL")
    weights = np.asarray(y.value) / float(scale.value)
    return float(gain @ weights) / _variance(market, weights)


def _variance(market: MarketData, weights: np.ndarray) -> float:
    exposures, specific = market.require_risk()
    factor = exposures.T @ weights
    return float(factor @ factor + np.sum((specific * weights) ** 2))
