"""Trading limits of a held book: the no-trade band, market impact and the turnover cap.

On a separable book (mean-variance, diagonal covariance) each asset solves its own
one-dimensional problem once the budget's price ν is known: a closed form (the band) or a
root of a scalar equation (market impact); ν, and the turnover cap's price, are then found
by a scalar search. References written here, independent of portcon's program.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

import portcon
from portcon import InfeasibleError
from tests.finite_differences import check_shadow_prices

GAMMA = 2.0
COST = 0.005  # 50 bps, as a fraction
WEIGHTS = 1e-6  # interior-point accuracy on these small books (no Newton polish with costs)
ASSETS = list("ABCDEF")


def _separable(current: np.ndarray, sigma: np.ndarray, mu: np.ndarray, **limits):
    """A mean-variance book with a diagonal covariance: one problem per asset given ν."""
    frame = pd.DataFrame({"score": 0.8, "current_weight": current}, index=ASSETS[: len(mu)])
    covariance = pd.DataFrame(np.diag(sigma**2), index=frame.index, columns=frame.index)
    fields = {
        "sizing_mode": "mean_variance",
        "risk_aversion": GAMMA,
        "transaction_cost_bps": COST * 1e4,
        "min_score_threshold": 0.0,
        "max_single_position": 1.0,
        "target_allocation": 1.0,
        **limits,
    }
    expected = pd.Series(mu, index=frame.index)
    return frame, fields, {"covariance": covariance, "expected_returns": expected}


def _per_asset(current, sigma, mu, half_width):
    """argmin γ/2 σ² w² − μ w + h |w − w⁰| over w ≥ 0: stay inside the band, else step out."""
    curvature = GAMMA * sigma**2
    marginal = curvature * current - mu
    step = np.where(
        marginal > half_width,
        -(marginal - half_width) / curvature,
        np.where(marginal < -half_width, -(marginal + half_width) / curvature, 0.0),
    )
    return np.maximum(current + step, 0.0)


def _budget_price(current, sigma, mu, half_width, target=1.0):
    """ν: the budget Σw = target prices every asset's return by the same amount."""
    return brentq(
        lambda v: _per_asset(current, sigma, mu + v, half_width).sum() - target,
        -10.0,
        10.0,
        xtol=1e-15,
    )


def _band_reference(current, sigma, mu, half_width):
    """The whole book's optimum."""
    nu = _budget_price(current, sigma, mu, half_width)
    return _per_asset(current, sigma, mu + nu, half_width)


def _book(draw_k, seed: int):
    rng = np.random.default_rng(seed)
    current = rng.dirichlet(np.full(5, 5.0))  # a fully invested book
    sigma = rng.uniform(0.15, 0.35, 5)
    mu = GAMMA * sigma**2 * current + np.asarray(draw_k) * COST
    return current, sigma, mu


@settings(max_examples=25, deadline=None)
@given(
    k=st.lists(st.floats(-3, 3).filter(lambda x: abs(abs(x) - 1) > 0.05), min_size=5, max_size=5),
    seed=st.integers(0, 10_000),
)
def test_the_no_trade_band_has_the_width_the_kkt_conditions_give(k, seed) -> None:
    """An asset whose marginal γσ²w⁰ − (μ + ν) lies within ±κc stays exactly; outside, it
    moves to the edge of the band: w = (μ + ν ∓ κc)/(γσ²). The band in μ is 2κc wide."""
    current, sigma, mu = _book(k, seed)
    marginal = GAMMA * sigma**2 * current - mu - _budget_price(current, sigma, mu, COST)
    # at the band's edge the optimum is degenerate: interior points are only ~√tol accurate
    assume(np.all(np.abs(np.abs(marginal) - COST) > 0.02 * COST))
    frame, fields, market = _separable(current, sigma, mu)
    portfolio = portcon.construct(frame, fields, **market)
    expected = _band_reference(current, sigma, mu, COST)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHTS)
    untraded = np.abs(expected - current) <= 1e-12
    stayed = np.abs(portfolio.weights.to_numpy() - current) <= WEIGHTS
    assert np.array_equal(stayed, untraded)
    reasons = portfolio.explanations.loc[frame.index[untraded], "reason"]
    assert reasons.str.contains("no-trade band").all(), reasons.to_dict()


def _impact_weight(current, curvature, mu, impact):
    """One asset's argmin of γ/2 σ² w² − μ w + κc |w − w⁰| + κη |w − w⁰|^1.5 over w ≥ 0."""

    def stationarity(w):
        change = w - current
        return curvature * w - mu + np.sign(change) * (COST + 1.5 * impact * np.sqrt(abs(change)))

    marginal = curvature * current - mu
    if abs(marginal) <= COST:
        return current
    if marginal < 0:
        return brentq(stationarity, current + 1e-15, 100.0, xtol=1e-15)
    if stationarity(0.0) >= 0:
        return 0.0
    return brentq(stationarity, 0.0, current - 1e-15, xtol=1e-15)


def test_market_impact_solves_each_assets_stationarity_equation() -> None:
    """γσ²w − (μ + ν) + κc sign + 1.5 κη √|w − w⁰| sign = 0 per asset, ν from the budget."""
    current, sigma, mu = _book([-3, -1.5, 0.5, 2, 3], seed=7)
    impact = 0.4
    frame, fields, market = _separable(current, sigma, mu, market_impact=impact)
    portfolio = portcon.construct(frame, fields, **market)
    curvature = GAMMA * sigma**2

    def book(nu):
        return np.array(
            [_impact_weight(current[i], curvature[i], mu[i] + nu, impact) for i in range(5)]
        )

    nu = brentq(lambda v: book(v).sum() - 1.0, -1.0, 1.0, xtol=1e-15)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), book(nu), atol=WEIGHTS)
    assert portfolio.explanations["residual"].abs().max() < 1e-6


def _turnover_reference(current, sigma, mu, cap):
    """The turnover price g: each asset's band widens to κc + g/2; bisect g until the
    one-way turnover ½Σ|w − w⁰| equals the cap (or g = 0 when the cap does not bind)."""

    def turnover(price):
        weights = _band_reference(current, sigma, mu, COST + price / 2)
        return 0.5 * np.abs(weights - current).sum()

    if turnover(0.0) <= cap:
        return _band_reference(current, sigma, mu, COST), 0.0
    price = brentq(lambda g: turnover(g) - cap, 0.0, 10.0, xtol=1e-14)
    return _band_reference(current, sigma, mu, COST + price / 2), price


def test_the_turnover_cap_widens_every_band_by_half_its_price() -> None:
    current, sigma, mu = _book([-3, -2, 0.5, 2, 3], seed=3)
    frame, fields, market = _separable(current, sigma, mu)
    free = portcon.construct(frame, fields, **market)
    cap = free.turnover / 2
    capped = portcon.construct(frame, {**fields, "max_turnover": cap}, **market)
    expected, price = _turnover_reference(current, sigma, mu, cap)
    np.testing.assert_allclose(capped.weights.to_numpy(), expected, atol=WEIGHTS)
    assert capped.turnover == pytest.approx(cap, abs=1e-7)
    shadow = capped.sensitivity().loc["max_turnover", "shadow_price"]
    assert shadow == pytest.approx(price, rel=1e-3)
    assert capped.explanations["residual"].abs().max() < 1e-6
    assert "max_turnover binding" in capped.explanations.loc["E", "reason"]


def test_new_shadow_prices_match_finite_differences() -> None:
    current, sigma, mu = _book([-20, -10, 0.5, 10, 20], seed=11)
    frame, fields, market = _separable(
        current, sigma, mu, market_impact=0.3, max_single_position=0.9, target_allocation=0.99
    )
    free = portcon.construct(frame, fields, **market)
    fields = {**fields, "max_turnover": free.turnover * 0.6}
    portfolio = portcon.construct(frame, fields, **market)
    priced = set(portfolio.sensitivity().index)
    assert {"max_turnover", "market_impact", "cost_aversion"} <= priced

    def objective_with(limits: dict) -> float:
        return portcon.construct(frame, limits, **market).objective

    assert check_shadow_prices(portfolio, fields, objective_with) >= 3


def test_closing_excluded_names_spends_the_turnover_cap_first() -> None:
    frame = pd.DataFrame(
        {"score": [0.9, 0.8, 0.3], "current_weight": [0.3, 0.3, 0.3]}, index=["A", "B", "C"]
    )
    with pytest.raises(InfeasibleError, match="closing C") as caught:
        portcon.construct(frame, {"min_score_threshold": 0.5, "max_turnover": 0.1})
    assert caught.value.repairs[0]["max_turnover"] == pytest.approx(0.15)
    limits = {"min_score_threshold": 0.5, "max_turnover": 0.2, "max_single_position": 0.5}
    portfolio = portcon.construct(frame, limits)
    assert portfolio.weights["C"] == 0
    assert portfolio.turnover == pytest.approx(0.2, abs=1e-7)  # 0.15 to close C, 0.05 to buy
    assert portfolio.weights[["A", "B"]].sum() == pytest.approx(0.7, abs=1e-7)
    assert "max_turnover" in portfolio.cash_reason


def test_a_turnover_cap_without_a_current_book_counts_from_cash() -> None:
    frame = pd.DataFrame({"score": [0.9, 0.8, 0.7]}, index=["A", "B", "C"])
    portfolio = portcon.construct(frame, {"max_turnover": 0.1})
    assert portfolio.weights.sum() == pytest.approx(0.2, abs=1e-7)
    assert "max_turnover" in portfolio.cash_reason


def test_trading_limits_hold_under_position_counts() -> None:
    """The count search sees the turnover row; min_trade_size then picks trades within the
    chosen support. construct raises if its independent check finds any rule broken."""
    rng = np.random.default_rng(3)
    assets = [f"A{i}" for i in range(15)]
    current = np.r_[rng.dirichlet(np.ones(8)) * 0.9, np.zeros(7)]
    frame = pd.DataFrame(
        {"score": rng.uniform(0.6, 0.95, 15), "bucket": ["X", "Y", "Z"] * 5},
        index=assets,
    ).assign(current_weight=current)
    limits = {
        "max_single_position": 0.3,
        "max_total_positions": 7,
        "max_new_positions": 2,
        "min_score_threshold": 0,
        "max_turnover": 0.1,
        "min_trade_size": 0.02,
    }
    portfolio = portcon.construct(frame, limits)
    assert portfolio.path == "mixed_integer"
    assert (portfolio.weights > 0).sum() <= 7
    assert portfolio.turnover <= 0.1 + 1e-7
    traded = (portfolio.weights - pd.Series(current, index=assets)).abs()
    assert ((traded <= 1e-9) | (traded >= 0.02 - 1e-9) | (portfolio.weights == 0)).all()
