"""min_trade_size: no trade smaller than m, checked against a brute force over every pattern
of trade directions (buy ≥ m, sell ≥ m or close, no trade), each solved as a cvxpy program
written here."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InfeasibleError
from portcon.report.check import violations
from portcon.universe import Universe
from tests.finite_differences import check_shadow_prices

GAMMA = 2.0
COST = 0.001
MINIMUM = 0.04
ASSETS = list("ABCDE")


def _book(seed: int):
    rng = np.random.default_rng(seed)
    current = rng.dirichlet(np.full(5, 4.0))
    loadings = rng.normal(0, 0.1, (5, 2))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.01, 0.04, 5))
    mu = GAMMA * covariance @ current + rng.normal(0, 0.002, 5)
    return current, covariance, mu


def _construct(current, covariance, mu, **limits):
    frame = pd.DataFrame({"score": 0.8, "current_weight": current}, index=ASSETS)
    fields = {
        "sizing_mode": "mean_variance",
        "risk_aversion": GAMMA,
        "transaction_cost_bps": COST * 1e4,
        "min_score_threshold": 0.0,
        "max_single_position": 1.0,
        "target_allocation": 1.0,
        "min_trade_size": MINIMUM,
        **limits,
    }
    return portcon.construct(
        frame,
        fields,
        covariance=pd.DataFrame(covariance, index=ASSETS, columns=ASSETS),
        expected_returns=pd.Series(mu, index=ASSETS),
    )


def _brute_force(current, covariance, mu):
    """The best of all 3⁵ direction patterns, each a convex program."""
    best = (np.inf, None)
    for pattern in itertools.product((-1, 0, 1), repeat=len(current)):
        w = cp.Variable(len(current))
        rows = [cp.sum(w) == 1, w >= 0]
        for i, sign in enumerate(pattern):
            if sign > 0:
                rows.append(w[i] >= current[i] + MINIMUM)
            elif sign < 0:
                rows.append(w[i] <= max(current[i] - MINIMUM, 0.0))
            else:
                rows.append(w[i] == current[i])
        utility = mu @ w - GAMMA / 2 * cp.quad_form(w, covariance)
        cost = COST * cp.norm1(w - current)
        problem = cp.Problem(cp.Minimize(-utility + cost), rows)
        problem.solve(solver=cp.CLARABEL)
        if problem.status == cp.OPTIMAL and problem.value < best[0]:
            best = (problem.value, np.asarray(w.value))
    return best


@pytest.mark.parametrize("seed", [2, 4, 7, 10])
def test_min_trade_size_finds_the_best_pattern_of_trades(seed: int) -> None:
    current, covariance, mu = _book(seed)
    free = _construct(current, covariance, mu, min_trade_size=None)
    change = np.abs(free.weights.to_numpy() - current)
    assert np.any((change > 1e-6) & (change < MINIMUM))  # the limit has work to do
    portfolio = _construct(current, covariance, mu)
    value, weights = _brute_force(current, covariance, mu)
    assert portfolio.objective == pytest.approx(value, abs=1e-7)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), weights, atol=1e-5)
    traded = np.abs(portfolio.weights.to_numpy() - current)
    assert np.all((traded <= 1e-9) | (traded >= MINIMUM - 1e-9))
    assert portfolio.path == "mixed_integer"
    assert any("min_trade_size" in note for note in portfolio.notes)


def test_untraded_names_say_why() -> None:
    current, covariance, mu = _book(1)
    portfolio = _construct(current, covariance, mu)
    stayed = (portfolio.weights - pd.Series(current, index=ASSETS)).abs() <= 1e-9
    assert stayed.any()
    reasons = portfolio.explanations.loc[stayed[stayed].index, "reason"]
    assert reasons.str.contains("pinned at .* by min_trade_size", regex=True).all()


def test_a_position_smaller_than_the_minimum_may_still_be_closed() -> None:
    frame = pd.DataFrame(
        {"score": [0.9, 0.8, 0.3], "current_weight": [0.45, 0.45, 0.01]}, index=list("ABC")
    )
    portfolio = portcon.construct(
        frame, {"min_score_threshold": 0.5, "min_trade_size": 0.05, "max_single_position": 0.5}
    )
    assert portfolio.weights["C"] == 0
    assert portfolio.trades.loc["C", "action"] == "close"


def test_the_checker_flags_a_trade_below_the_minimum() -> None:
    frame = pd.DataFrame({"score": [0.9, 0.8], "current_weight": [0.5, 0.45]}, index=list("AB"))
    universe = Universe.from_scores(frame)
    limits = portcon.Limits(min_trade_size=0.05, max_single_position=0.6, min_score_threshold=0)
    broken = violations(np.array([0.52, 0.43]), universe, limits)
    assert any(line.startswith("min_trade_size A") for line in broken)
    assert not any(
        "min_trade_size" in line for line in violations(np.array([0.5, 0.45]), universe, limits)
    )


def test_no_pattern_that_meets_the_other_limits_is_infeasible() -> None:
    frame = pd.DataFrame({"score": [0.9, 0.8], "current_weight": [0.45, 0.45]}, index=list("AB"))
    limits = {
        "min_trade_size": 0.2,
        "max_single_position": 0.5,
        "target_allocation": 1.0,
        "allow_cash_rollover": False,
        "min_score_threshold": 0,
    }
    with pytest.raises(InfeasibleError, match="min_trade_size"):
        portcon.construct(frame, limits)


def test_the_price_of_min_trade_size_matches_finite_differences() -> None:
    current, covariance, mu = _book(4)
    market = {
        "covariance": pd.DataFrame(covariance, index=ASSETS, columns=ASSETS),
        "expected_returns": pd.Series(mu, index=ASSETS),
    }
    frame = pd.DataFrame({"score": 0.8, "current_weight": current}, index=ASSETS)
    limits = portcon.Limits(
        sizing_mode="mean_variance",
        risk_aversion=GAMMA,
        transaction_cost_bps=COST * 1e4,
        min_score_threshold=0.0,
        max_single_position=0.9,
        target_allocation=0.99,
        min_trade_size=MINIMUM,
    ).model_dump()
    portfolio = portcon.construct(frame, limits, **market)
    assert portfolio.sensitivity().loc["min_trade_size", "shadow_price"] < -1e-3  # it binds

    def objective_with(fields: dict) -> float:
        return portcon.construct(frame, fields, **market).objective

    assert check_shadow_prices(portfolio, limits, objective_with) >= 2


@pytest.mark.parametrize(
    "wrappers",
    [{}, {"transaction_cost_bps": 1.0}, {"transaction_cost_bps": 1.0, "l2_regularization": 0.01}],
)
def test_max_sharpe_is_refused_under_every_objective_wrapper(wrappers: dict) -> None:
    """γ* would move with each trade pattern; costs and regularisation wrap the objective
    (one layer each) and must not hide it."""
    names = ["A", "B", "C", "D"]
    covariance = pd.DataFrame(np.diag([0.04, 0.03, 0.05, 0.02]) + 0.005, index=names, columns=names)
    expected = pd.Series([0.08, 0.06, 0.07, 0.04], index=names)
    frame = pd.DataFrame({"score": 1.0, "current_weight": [0.3, 0.2, 0.25, 0.2]}, index=names)
    limits = {"sizing_mode": "max_sharpe", "min_trade_size": 0.2, "max_single_position": 0.6}
    with pytest.raises(portcon.LimitsError, match="min_trade_size is not available"):
        portcon.construct(
            frame, {**limits, **wrappers}, covariance=covariance, expected_returns=expected
        )
