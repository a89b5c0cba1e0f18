"""Rebalancing a current book that holds shorts (issue 14, item 3: a held 130/30 book).

The target is checked against a naive cvxpy program written out here (mean-variance with the
130/30 rows and the one-way turnover cap ½Σ|w − w⁰| ≤ τ), trades and turnover are recomputed in
numpy from the signed weights, and the binding turnover price against finite differences.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.errors import InputError
from tests.finite_differences import check_shadow_prices

N = 10
ASSETS = [f"S{i}" for i in range(N)]
WEIGHTS = 1e-6
EXPOSURE = 1e-8
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}

LIMITS_130_30 = {
    "sizing_mode": "mean_variance",
    "risk_aversion": 2.0,
    "allow_short": True,
    "max_short_position": 0.1,
    "leverage_limit": 1.6,
    "target_allocation": 1.0,
    "max_single_position": 0.35,
    "allow_cash_rollover": False,
    "min_score_threshold": 0.0,
}


def _covariance() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    loadings = rng.normal(size=(N, 2)) * 0.1
    specific = np.linspace(0.12, 0.25, N) ** 2
    return pd.DataFrame(loadings @ loadings.T + np.diag(specific), index=ASSETS, columns=ASSETS)


COVARIANCE = _covariance()
SIGMA = COVARIANCE.to_numpy()
SCORES = pd.Series(np.linspace(0.6, 0.9, N), index=ASSETS)
MU_THEN = pd.Series(np.linspace(-0.10, 0.16, N), index=ASSETS)
MU_NOW = pd.Series(np.linspace(0.16, -0.10, N), index=ASSETS)  # the views have reversed


def _held_book() -> np.ndarray:
    """The 130/30 book held now: last period's answer."""
    held = portcon.construct(SCORES, LIMITS_130_30, covariance=COVARIANCE, expected_returns=MU_THEN)
    return held.weights.reindex(ASSETS).fillna(0.0).to_numpy()


HELD = _held_book()


def _rebalance(limits: dict, current: np.ndarray = HELD) -> portcon.Portfolio:
    return portcon.construct(
        SCORES,
        limits,
        current=pd.Series(current, index=ASSETS),
        covariance=COVARIANCE,
        expected_returns=MU_NOW,
    )


def _naive(limits: dict, current: np.ndarray) -> np.ndarray:
    w = cp.Variable(N)
    rows = [
        cp.sum(w) == limits["target_allocation"],
        w <= limits["max_single_position"],
        w >= -limits["max_short_position"],
        cp.norm1(w) <= limits["leverage_limit"],
        0.5 * cp.norm1(w - current) <= limits["max_turnover"],
    ]
    utility = MU_NOW.to_numpy() @ w - limits["risk_aversion"] / 2 * cp.quad_form(w, SIGMA)
    cp.Problem(cp.Maximize(utility), rows).solve(**TIGHT)
    return np.asarray(w.value)


def test_the_held_book_is_130_30() -> None:
    assert HELD.sum() == pytest.approx(1.0, abs=EXPOSURE)
    assert HELD[HELD > 0].sum() == pytest.approx(1.3, abs=1e-6)
    assert -HELD[HELD < 0].sum() == pytest.approx(0.3, abs=1e-6)


def test_a_held_130_30_book_rebalanced_under_a_binding_turnover_cap() -> None:
    free = _rebalance({**LIMITS_130_30, "max_turnover": 1.0})
    limits = {**LIMITS_130_30, "max_turnover": round(free.turnover * 0.5, 6)}
    portfolio = _rebalance(limits)
    weights = portfolio.weights.reindex(ASSETS).fillna(0.0).to_numpy()
    np.testing.assert_allclose(weights, _naive(limits, HELD), atol=WEIGHTS)
    assert np.abs(weights).sum() <= 1.6 + 1e-7
    assert (weights < -1e-6).any()  # still long-short

    trades = portfolio.trades
    assert trades is not None
    change = trades["change"].reindex(ASSETS).fillna(0.0).to_numpy()
    np.testing.assert_allclose(change, weights - HELD, atol=1e-12)
    np.testing.assert_allclose(trades["current"].reindex(ASSETS).fillna(0.0), HELD, atol=0)
    assert portfolio.turnover == pytest.approx(0.5 * np.abs(weights - HELD).sum(), abs=1e-12)
    assert portfolio.turnover == pytest.approx(limits["max_turnover"], abs=1e-7)
    assert np.abs(portfolio.explanations["residual"]).max() < 1e-6
    assert portfolio.sensitivity().loc["max_turnover", "shadow_price"] > 0

    step = 1e-5
    up = _rebalance({**limits, "max_turnover": limits["max_turnover"] + step}).objective
    down = _rebalance({**limits, "max_turnover": limits["max_turnover"] - step}).objective
    shadow = portfolio.sensitivity().loc["max_turnover", "shadow_price"]
    assert shadow == pytest.approx(-(up - down) / (2 * step), rel=1e-3)


def test_every_price_of_a_short_book_rebalance_matches_finite_differences() -> None:
    """All prices at once (target_allocation 0.99 so that it can move both ways)."""
    free = _rebalance({**LIMITS_130_30, "max_turnover": 1.0})
    limits = {**LIMITS_130_30, "target_allocation": 0.99}
    limits["max_turnover"] = round(free.turnover * 0.5, 6)
    portfolio = _rebalance(limits)
    assert "max_turnover" in portfolio.sensitivity().index

    def objective_with(moved: dict) -> float:
        return _rebalance(moved).objective

    assert check_shadow_prices(portfolio, limits, objective_with) >= 1


def test_a_held_short_that_is_covered_or_reversed_is_named_by_its_trade() -> None:
    portfolio = _rebalance({**LIMITS_130_30, "max_turnover": 1.0})
    trades = portfolio.trades
    assert trades is not None
    for asset, row in trades.iterrows():
        if row["current"] < 0 and row["target"] > 0:
            assert row["action"] == "reverse", asset
        if row["current"] < 0 and row["target"] == 0:
            assert row["action"] == "close", asset
    assert (trades["current"] < 0).any() and (trades["target"] > 0).any()


def test_costs_are_charged_on_the_signed_change() -> None:
    limits = {**LIMITS_130_30, "transaction_cost_bps": 20.0}
    portfolio = _rebalance(limits)
    weights = portfolio.weights.reindex(ASSETS).fillna(0.0).to_numpy()
    assert portfolio.trading_cost == pytest.approx(20e-4 * np.abs(weights - HELD).sum(), rel=1e-9)


@pytest.mark.parametrize("given", ["column", "current="])
def test_a_short_book_without_allow_short_names_the_rows(given: str) -> None:
    long_only = {"sizing_mode": "mean_variance", "risk_aversion": 2.0}
    current = pd.Series(HELD, index=ASSETS)
    shorts = [asset for asset in ASSETS if current[asset] < 0]
    with pytest.raises(InputError) as caught:
        if given == "column":
            frame = pd.DataFrame({"score": SCORES, "current_weight": current})
            portcon.construct(frame, long_only, covariance=COVARIANCE, expected_returns=MU_NOW)
        else:
            portcon.construct(
                SCORES,
                long_only,
                current=current,
                covariance=COVARIANCE,
                expected_returns=MU_NOW,
            )
    message = str(caught.value)
    assert "allow_short" in message and "current_weight" in message
    assert all(asset in message for asset in shorts)


def test_a_held_short_without_a_score_is_refused() -> None:
    current = pd.Series({"S0": 0.5, "GONE": -0.05})
    with pytest.raises(InputError, match="GONE"):
        portcon.construct(SCORES, LIMITS_130_30, current=current, covariance=COVARIANCE)


def test_a_young_short_keeps_its_weight_under_min_holding_days() -> None:
    short = int(np.argmin(HELD))
    days = np.full(N, 30)
    days[short] = 2
    current = pd.DataFrame({"current_weight": HELD, "days_held": days}, index=ASSETS)
    limits = {**LIMITS_130_30, "min_holding_days": 5}
    portfolio = portcon.construct(
        SCORES, limits, current=current, covariance=COVARIANCE, expected_returns=MU_NOW
    )
    assert portfolio.weights[ASSETS[short]] == pytest.approx(HELD[short], abs=1e-9)
    assert "min_holding_days" in portfolio.explanations.loc[ASSETS[short], "reason"]
