"""Historical CVaR (issue 14, item 5): the max_portfolio_risk cap and the min_cvar mode.

Every answer is checked against a Rockafellar–Uryasev program written out here in cvxpy, the
CVaR of the answer recomputed in numpy from the scenarios, the KKT conditions with the tail
probabilities found by a small LP, finite differences of the optimum, and the diagnosis.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.errors import InfeasibleError, InputError, LimitsError
from tests.finite_differences import check_shadow_prices

N, T = 6, 200
ASSETS = [f"A{i}" for i in range(N)]
LEVEL = 0.95
WEIGHTS = 1e-5  # an LP's answer: vertex weights agree to solver accuracy
VALUE = 1e-8
RESIDUAL = 1e-6
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _returns() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    common = rng.standard_t(4, size=(T, 1)) * 0.006
    own = rng.standard_t(5, size=(T, N)) * np.linspace(0.004, 0.012, N)
    drift = np.linspace(0.0002, 0.0009, N)
    return pd.DataFrame(drift + common * np.linspace(0.5, 1.5, N) + own, columns=ASSETS)


RETURNS = _returns()
R = RETURNS.to_numpy()
SCORES = pd.Series(np.linspace(0.9, 0.7, N), index=ASSETS)
BASE = {
    "min_score_threshold": 0.0,
    "max_single_position": 0.35,
    "target_allocation": 0.95,
    "covariance_estimator": "sample",
    "risk_model": "historical",
    "confidence_level": LEVEL,
}


def _construct(limits: dict) -> portcon.Portfolio:
    return portcon.construct(SCORES, limits, returns=RETURNS)


def _weights(portfolio: portcon.Portfolio) -> np.ndarray:
    return portfolio.weights.reindex(ASSETS).to_numpy()


def _numpy_cvar(weights: np.ndarray, level: float = LEVEL) -> float:
    """Mean of the worst (1 − α) T losses, the last one counted fractionally."""
    losses = np.sort(-R @ weights)[::-1]
    k = (1 - level) * len(losses)
    whole = int(np.floor(k))
    return float((losses[:whole].sum() + (k - whole) * losses[whole]) / k)


def _naive(limits: dict, objective: str) -> tuple[np.ndarray, float]:
    """Rockafellar–Uryasev with explicit t and u ≥ 0, written from scratch."""
    w, t, u = cp.Variable(N), cp.Variable(), cp.Variable(T, nonneg=True)
    cvar = t + cp.sum(u) / ((1 - LEVEL) * T)
    constraints = [
        u >= -R @ w - t,
        cp.sum(w) == limits["target_allocation"],
        w >= 0,
        w <= limits["max_single_position"],
    ]
    mu = RETURNS.mean().to_numpy() * 252
    if limits.get("min_expected_return") is not None:
        constraints.append(mu @ w >= limits["min_expected_return"])
    if objective == "min_cvar":
        goal = cvar
    else:
        sigma = RETURNS.cov().to_numpy() * 252
        goal = 0.5 * cp.quad_form(w, cp.psd_wrap(sigma))
        constraints.append(cvar <= limits["max_portfolio_risk"])
    problem = cp.Problem(cp.Minimize(goal), constraints)
    problem.solve(**TIGHT)
    return np.asarray(w.value), float(problem.value)


def test_min_cvar_matches_a_naive_rockafellar_uryasev_program() -> None:
    limits = {**BASE, "sizing_mode": "min_cvar"}
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    expected, value = _naive(limits, "min_cvar")
    assert _numpy_cvar(weights) == pytest.approx(value, abs=VALUE)
    np.testing.assert_allclose(weights, expected, atol=WEIGHTS)
    assert portfolio.objective == pytest.approx(value, abs=VALUE)
    assert portfolio.metrics.conditional_value_at_risk == pytest.approx(value, abs=VALUE)


def test_reported_var_and_cvar_are_the_numpy_values() -> None:
    portfolio = _construct({**BASE, "sizing_mode": "min_cvar", "confidence_level": 0.9})
    weights = _weights(portfolio)
    losses = -R @ weights
    assert portfolio.metrics.conditional_value_at_risk == pytest.approx(
        _numpy_cvar(weights, 0.9), abs=1e-12
    )
    # VaR: the 20th largest of 200 losses (k = 20 whole); 20 losses at or above it
    var = portfolio.metrics.value_at_risk
    assert var == pytest.approx(np.sort(losses)[::-1][19], abs=1e-12)
    assert np.sum(losses >= var - 1e-12) >= 20


def _cap_limits() -> dict:
    free = _construct({**BASE, "sizing_mode": "min_variance"})
    tightest = _naive({**BASE}, "min_cvar")[1]
    cap = 0.5 * (tightest + _numpy_cvar(_weights(free)))  # between the two: it binds
    return {**BASE, "sizing_mode": "min_variance", "max_portfolio_risk": cap}


def test_cvar_cap_matches_a_naive_program_and_binds() -> None:
    limits = _cap_limits()
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    expected, value = _naive(limits, "cap")
    np.testing.assert_allclose(weights, expected, atol=WEIGHTS)
    assert portfolio.objective == pytest.approx(value, rel=1e-7)
    assert _numpy_cvar(weights) == pytest.approx(limits["max_portfolio_risk"], abs=VALUE)
    row = portfolio.constraints.set_index("rule").loc["max_portfolio_risk"]
    assert row["value"] == pytest.approx(_numpy_cvar(weights), abs=1e-12)
    assert row["shadow_price"] > 1e-4
    assert portfolio.metrics.conditional_value_at_risk == pytest.approx(row["value"], abs=1e-12)


def test_kkt_with_tail_probabilities_found_by_an_lp() -> None:
    """The cap's part of stationarity is g · (−Rᵀp / k) for some tail probabilities p
    (0 ≤ p ≤ 1, Σp = k, 1 above VaR, 0 below): an LP finds one within 1e-6, and the parts
    of the explanations close stationarity."""
    portfolio = _construct(_cap_limits())
    weights = _weights(portfolio)
    table = portfolio.explanations.reindex(ASSETS)
    assert np.abs(table["residual"]).max() < RESIDUAL
    price = portfolio.constraints.set_index("rule").loc["max_portfolio_risk", "shadow_price"]
    losses = -R @ weights
    k = (1 - LEVEL) * T
    var = np.sort(losses)[::-1][int(np.ceil(k)) - 1]
    p = cp.Variable(T)
    gap = cp.norm_inf(price * (-R.T @ p) / k - table["max_portfolio_risk"].to_numpy())
    rows = [p >= 0, p <= 1, cp.sum(p) == k]
    rows += [p[losses > var + 1e-7] == 1, p[losses < var - 1e-7] == 0]
    cp.Problem(cp.Minimize(gap), rows).solve(solver="CLARABEL")
    assert gap.value < RESIDUAL
    # stationarity itself: Σw gradient + every rule's part = 0 (sizing column from weights)
    sigma = np.cov(R.T) * 252
    np.testing.assert_allclose(table["sizing"], sigma @ weights, atol=1e-9)


def test_shadow_price_of_the_cap_matches_finite_differences() -> None:
    limits = _cap_limits()
    portfolio = _construct(limits)
    assert portfolio.sensitivity().loc["max_portfolio_risk", "shadow_price"] > 1e-4
    assert check_shadow_prices(portfolio, limits, lambda moved: _construct(moved).objective) >= 1


def test_mean_cvar_efficient_portfolio_with_min_expected_return() -> None:
    mu = RETURNS.mean().to_numpy() * 252
    least = _weights(_construct({**BASE, "sizing_mode": "min_cvar"}))
    floor = 0.5 * (float(mu @ least) + float(np.sort(mu)[-3:].mean()))
    limits = {**BASE, "sizing_mode": "min_cvar", "min_expected_return": floor}
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    expected, value = _naive(limits, "min_cvar")
    np.testing.assert_allclose(weights, expected, atol=WEIGHTS)
    assert mu @ weights == pytest.approx(floor, abs=1e-8)  # the return floor binds
    assert _numpy_cvar(weights) == pytest.approx(value, abs=VALUE)
    assert _numpy_cvar(weights) > _numpy_cvar(least)  # more return costs CVaR


def test_an_unreachable_cap_is_diagnosed_and_repaired() -> None:
    tightest = _naive(BASE, "min_cvar")[1]
    limits = {
        **BASE,
        "sizing_mode": "min_variance",
        "max_portfolio_risk": 0.8 * tightest,
        "allow_cash_rollover": False,
    }
    with pytest.raises(InfeasibleError) as caught:
        _construct(limits)
    assert "max_portfolio_risk" in caught.value.conflicts
    repair = next(r for r in caught.value.repairs if "max_portfolio_risk" in r)
    # the least CVaR, plus the diagnosis's margin (1e-6) rounded up to six digits
    assert tightest <= repair["max_portfolio_risk"] <= tightest + 3e-6
    _construct({**limits, **repair})  # the repair works
    with pytest.raises(InfeasibleError):  # and is minimal
        _construct({**limits, "max_portfolio_risk": tightest - 1e-5})


def test_the_checker_recomputes_the_cap() -> None:
    from portcon.report.check_tail import tail_violations

    limits = portcon.Limits(**{**BASE, "max_portfolio_risk": 0.01})
    market = portcon.market.MarketData(scenarios=R)
    equal = np.full(N, 1 / N)
    found = tail_violations(equal, limits, market, 1e-8)
    assert found and found[0].startswith("max_portfolio_risk: CVaR")
    assert not tail_violations(equal, limits.replace(max_portfolio_risk=1.0), market, 1e-8)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"max_portfolio_risk": 0.02}, "needs a risk_model"),
        ({"sizing_mode": "min_cvar"}, "needs a risk_model"),
        ({"risk_model": "historical", "confidence_level": 1.0}, "confidence_level"),
        ({"risk_model": "monte_carlo", "scenario_count": 5}, "scenario_count"),
    ],
)
def test_bad_tail_limits_raise_limits_errors(fields: dict, fragment: str) -> None:
    with pytest.raises(LimitsError, match=fragment):
        portcon.Limits(**fields)


def test_historical_without_returns_names_returns() -> None:
    covariance = pd.DataFrame(np.cov(R.T) * 252, index=ASSETS, columns=ASSETS)
    limits = {**BASE, "sizing_mode": "min_cvar"}
    with pytest.raises(InputError, match="returns="):
        portcon.construct(SCORES, limits, covariance=covariance)
    with pytest.raises(InputError, match="returns="):
        portcon.construct(
            SCORES,
            {**BASE, "sizing_mode": "min_variance", "max_portfolio_risk": 0.03},
            covariance=covariance,
        )
