"""The parametric, monte_carlo and garch risk models (issue 14, item 5).

Parametric CVaR against the closed form φ(z_α)/(1 − α) σ; its cap against a naive cvxpy
program with the equivalent volatility cone; Monte Carlo scenarios against the Gaussian they
are drawn from; GARCH forecasts against ``arch`` called directly here.
"""

from __future__ import annotations

import sys

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import portcon
from portcon.errors import InputError
from portcon.limits import Limits
from portcon.market import prepare_market_data
from portcon.universe import Universe
from tests.finite_differences import check_shadow_prices

N = 6
ASSETS = [f"A{i}" for i in range(N)]
LEVEL = 0.95
PERIODS = 252.0
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _covariance() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    loadings = rng.normal(size=(N, 2)) * 0.1
    specific = np.linspace(0.12, 0.3, N) ** 2
    return pd.DataFrame(loadings @ loadings.T + np.diag(specific), index=ASSETS, columns=ASSETS)


COVARIANCE = _covariance()
SIGMA = COVARIANCE.to_numpy()
MU = pd.Series(np.linspace(0.02, 0.12, N), index=ASSETS)
SCORES = pd.Series(np.linspace(0.9, 0.7, N), index=ASSETS)
MULTIPLIER = norm.pdf(norm.ppf(LEVEL)) / (1 - LEVEL) / np.sqrt(PERIODS)  # CVaR per unit σ_year
BASE = {
    "min_score_threshold": 0.0,
    "max_single_position": 0.4,
    "target_allocation": 0.95,
    "risk_model": "parametric",
    "confidence_level": LEVEL,
}


def _construct(limits: dict) -> portcon.Portfolio:
    return portcon.construct(SCORES, limits, covariance=COVARIANCE, expected_returns=MU)


def _weights(portfolio: portcon.Portfolio) -> np.ndarray:
    return portfolio.weights.reindex(ASSETS).to_numpy()


def _gaussian_cvar(weights: np.ndarray) -> float:
    return float(MULTIPLIER * np.sqrt(weights @ SIGMA @ weights))


def _capped_limits() -> dict:
    free = _weights(_construct({**BASE, "sizing_mode": "mean_variance", "risk_aversion": 1.0}))
    least = _weights(_construct({**BASE, "sizing_mode": "min_variance"}))
    cap = 0.5 * (_gaussian_cvar(free) + _gaussian_cvar(least))
    return {**BASE, "sizing_mode": "mean_variance", "risk_aversion": 1.0, "max_portfolio_risk": cap}


def test_parametric_cap_is_the_closed_form_cone() -> None:
    limits = _capped_limits()
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    w = cp.Variable(N)
    deviation = cp.norm(np.linalg.cholesky(SIGMA).T @ w, 2)
    problem = cp.Problem(
        cp.Maximize(MU.to_numpy() @ w - 0.5 * cp.quad_form(w, SIGMA)),
        [
            cp.sum(w) == 0.95,
            w >= 0,
            w <= 0.4,
            deviation <= limits["max_portfolio_risk"] / MULTIPLIER,
        ],
    )
    problem.solve(**TIGHT)
    np.testing.assert_allclose(weights, w.value, atol=1e-6)
    assert _gaussian_cvar(weights) == pytest.approx(limits["max_portfolio_risk"], rel=1e-7)
    metrics = portfolio.metrics
    assert metrics.conditional_value_at_risk == pytest.approx(_gaussian_cvar(weights), rel=1e-9)
    assert metrics.value_at_risk == pytest.approx(
        norm.ppf(LEVEL) * np.sqrt(weights @ SIGMA @ weights / PERIODS), rel=1e-9
    )
    assert np.abs(portfolio.explanations["residual"]).max() < 1e-6


def test_parametric_cap_price_matches_finite_differences() -> None:
    limits = _capped_limits()
    portfolio = _construct(limits)
    assert portfolio.sensitivity().loc["max_portfolio_risk", "shadow_price"] > 1e-3
    assert check_shadow_prices(portfolio, limits, lambda moved: _construct(moved).objective) >= 1


def test_parametric_min_cvar_is_min_variance_in_cvar_units() -> None:
    cvar = _construct({**BASE, "sizing_mode": "min_cvar"})
    variance = _construct({**BASE, "sizing_mode": "min_variance"})
    np.testing.assert_allclose(_weights(cvar), _weights(variance), atol=1e-6)
    assert cvar.objective == pytest.approx(_gaussian_cvar(_weights(cvar)), rel=1e-7)
    assert np.abs(cvar.explanations["residual"]).max() < 1e-6


def test_monte_carlo_scenarios_are_seeded_draws_of_the_risk_model() -> None:
    limits = Limits(**{**BASE, "risk_model": "monte_carlo", "scenario_count": 40_000})
    universe = Universe.from_scores(SCORES)
    market = prepare_market_data(universe, limits, covariance=COVARIANCE)
    again = prepare_market_data(universe, limits, covariance=COVARIANCE)
    assert market.scenarios is not None and again.scenarios is not None
    np.testing.assert_array_equal(market.scenarios, again.scenarios)  # same seed, same draws
    assert market.scenarios.shape == (40_000, N)
    sample = np.cov(market.scenarios.T) * PERIODS
    np.testing.assert_allclose(sample, SIGMA, atol=0.03 * np.max(SIGMA))
    other = prepare_market_data(universe, limits.replace(scenario_seed=1), covariance=COVARIANCE)
    assert other.scenarios is not None and not np.array_equal(other.scenarios, market.scenarios)


def test_monte_carlo_min_cvar_reports_the_scenario_cvar_near_the_gaussian() -> None:
    limits = {**BASE, "risk_model": "monte_carlo", "sizing_mode": "min_cvar"}
    portfolio = _construct({**limits, "scenario_count": 20_000})
    weights = _weights(portfolio)
    market = prepare_market_data(
        Universe.from_scores(SCORES),
        Limits(**{**limits, "scenario_count": 20_000}),
        covariance=COVARIANCE,
    )
    assert market.scenarios is not None
    losses = np.sort(-market.scenarios @ weights)[::-1]
    numpy_cvar = losses[:1000].mean()  # (1 − 0.95) × 20,000 = 1,000 worst, whole
    assert portfolio.metrics.conditional_value_at_risk == pytest.approx(numpy_cvar, abs=1e-12)
    assert portfolio.objective == pytest.approx(numpy_cvar, abs=1e-8)
    # sampling error of a 1,000-point tail mean: a few percent of the Gaussian value
    assert numpy_cvar == pytest.approx(_gaussian_cvar(weights), rel=0.05)


def _returns(periods: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    chol = np.linalg.cholesky(SIGMA / PERIODS)
    shocks = rng.standard_normal((periods, N)) @ chol.T
    scale = np.ones(periods)
    scale[periods // 2 :] = 1.8  # a volatile second half: GARCH's forecast is above the average
    return pd.DataFrame(shocks * scale[:, None], columns=ASSETS)


def test_garch_forecasts_match_arch_called_directly() -> None:
    from arch import arch_model

    from portcon.estimators.garch import GarchVolatility

    returns = _returns()
    fitted = GarchVolatility(periods_per_year=PERIODS).fit(returns)
    for k, asset in enumerate(ASSETS):
        result = arch_model(100 * returns[asset].to_numpy(), vol="GARCH", p=1, q=1).fit(disp="off")
        forecast = result.forecast(horizon=1).variance.to_numpy()[-1, 0] / 1e4
        assert fitted.volatility_[k] == pytest.approx(np.sqrt(forecast * PERIODS), rel=1e-9)


def test_garch_rescales_volatilities_and_keeps_correlations() -> None:
    from portcon.estimators.garch import GarchVolatility

    returns = _returns()
    universe = Universe.from_scores(SCORES)
    plain = prepare_market_data(universe, Limits(), returns=returns)
    garch = prepare_market_data(universe, Limits(risk_model="garch"), returns=returns)
    forecast = GarchVolatility(periods_per_year=PERIODS).fit(returns).volatility_
    np.testing.assert_allclose(garch.volatility(), forecast, rtol=1e-12)

    def correlation(covariance: np.ndarray) -> np.ndarray:
        scale = np.sqrt(np.diag(covariance))
        return covariance / np.outer(scale, scale)

    np.testing.assert_allclose(
        correlation(garch.covariance()), correlation(plain.covariance()), atol=1e-12
    )
    # every mode reads the GARCH covariance: min_variance equals the naive program on it
    portfolio = portcon.construct(
        SCORES, {**BASE, "risk_model": "garch", "sizing_mode": "min_variance"}, returns=returns
    )
    w = cp.Variable(N)
    cp.Problem(
        cp.Minimize(cp.quad_form(w, cp.psd_wrap(garch.covariance()))),
        [cp.sum(w) == 0.95, w >= 0, w <= 0.4],
    ).solve(**TIGHT)
    np.testing.assert_allclose(_weights(portfolio), w.value, atol=1e-6)


def test_garch_without_arch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "arch", None)  # import arch now raises ImportError
    with pytest.raises(InputError, match=r"portcon\[arch\]"):
        portcon.construct(
            SCORES,
            {**BASE, "risk_model": "garch", "sizing_mode": "min_variance"},
            returns=_returns(),
        )


def test_garch_without_returns_names_returns() -> None:
    with pytest.raises(InputError, match="returns="):
        _construct({**BASE, "risk_model": "garch", "sizing_mode": "min_variance"})
