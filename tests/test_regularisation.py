"""L2 and L1 regularisation (issue 14, item 6).

PyPortfolioOpt's documented objectives with its ``L2_reg`` term (γ‖w‖², pypfopt/objective_
functions.py) are written out here as naive cvxpy programs and compared with portcon's
weights; prices against central finite differences; KKT residuals. Tolerances per quantity.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.errors import LimitsError

WEIGHTS = 1e-6
RESIDUAL = 1e-6
N = 7
ASSETS = [f"R{i}" for i in range(N)]
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _covariance() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    loadings = rng.normal(size=(N, 2)) * 0.2
    specific = np.linspace(0.1, 0.25, N) ** 2
    return pd.DataFrame(loadings @ loadings.T + np.diag(specific), index=ASSETS, columns=ASSETS)


COVARIANCE = _covariance()
SIGMA = COVARIANCE.to_numpy()
MU = pd.Series(np.linspace(0.02, 0.15, N), index=ASSETS)
SCORES = pd.Series(np.linspace(0.65, 0.95, N), index=ASSETS)
FULLY_INVESTED = {
    "target_allocation": 1.0,
    "max_single_position": 1.0,
    "allow_cash_rollover": False,
    "min_score_threshold": 0.0,
}


def _construct(limits: dict, scores: pd.Series | pd.DataFrame = SCORES) -> portcon.Portfolio:
    return portcon.construct(scores, limits, covariance=COVARIANCE, expected_returns=MU)


def _weights(portfolio: portcon.Portfolio) -> np.ndarray:
    return portfolio.weights.reindex(ASSETS).to_numpy()


def _pypfopt_problem(objective: cp.Expression, w: cp.Variable) -> np.ndarray:
    """PyPortfolioOpt's EfficientFrontier defaults: Σw = 1, weight_bounds (0, 1)."""
    cp.Problem(cp.Minimize(objective), [cp.sum(w) == 1, w >= 0, w <= 1]).solve(**TIGHT)
    return np.asarray(w.value)


@pytest.mark.parametrize("gamma", [0.05, 0.5, 2.0])
def test_min_volatility_with_l2_reg_matches_pypfopt_objective(gamma: float) -> None:
    """ef.add_objective(objective_functions.L2_reg, gamma=γ); ef.min_volatility():
    minimise wᵀΣw + γ‖w‖². portcon minimises ½wᵀΣw + λ₂‖w − 1/n‖², so λ₂ = γ/2."""
    w = cp.Variable(N)
    expected = _pypfopt_problem(cp.quad_form(w, SIGMA) + gamma * cp.sum_squares(w), w)
    limits = {**FULLY_INVESTED, "sizing_mode": "min_variance", "l2_regularization": gamma / 2}
    portfolio = _construct(limits)
    np.testing.assert_allclose(_weights(portfolio), expected, atol=WEIGHTS)
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL


@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
def test_max_quadratic_utility_with_l2_reg_matches_pypfopt_objective(gamma: float) -> None:
    """ef.add_objective(L2_reg, gamma=γ); ef.max_quadratic_utility(risk_aversion=δ):
    minimise −μᵀw + ½δ wᵀΣw + γ‖w‖² (portcon's mean_variance convention, λ₂ = γ)."""
    delta = 2.0
    w = cp.Variable(N)
    objective = (
        -MU.to_numpy() @ w + 0.5 * delta * cp.quad_form(w, SIGMA) + gamma * cp.sum_squares(w)
    )
    expected = _pypfopt_problem(objective, w)
    limits = {
        **FULLY_INVESTED,
        "sizing_mode": "mean_variance",
        "risk_aversion": delta,
        "l2_regularization": gamma,
    }
    portfolio = _construct(limits)
    np.testing.assert_allclose(_weights(portfolio), expected, atol=WEIGHTS)
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL
    assert "l2_regularization" in portfolio.objective_meaning


def test_l2_moves_weights_towards_equal_weight() -> None:
    limits = {**FULLY_INVESTED, "sizing_mode": "mean_variance", "risk_aversion": 2.0}
    plain = _weights(_construct(limits))
    shrunk = _weights(_construct({**limits, "l2_regularization": 5.0}))
    equal = np.full(N, 1 / N)
    assert np.linalg.norm(shrunk - equal) < 0.5 * np.linalg.norm(plain - equal)


def test_l2_towards_the_current_book_matches_a_naive_program() -> None:
    current = np.array([0.3, 0.0, 0.1, 0.2, 0.0, 0.25, 0.1])
    scores = pd.DataFrame({"score": SCORES, "current_weight": current})
    limits = {
        **FULLY_INVESTED,
        "sizing_mode": "mean_variance",
        "risk_aversion": 2.0,
        "l2_regularization": 0.3,
        "l2_target": "current",
    }
    portfolio = _construct(limits, scores)
    w = cp.Variable(N)
    objective = -MU.to_numpy() @ w + cp.quad_form(w, SIGMA) + 0.3 * cp.sum_squares(w - current)
    expected = _pypfopt_problem(objective, w)
    np.testing.assert_allclose(_weights(portfolio), expected, atol=WEIGHTS)
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL


def test_l2_on_a_proportional_mode_matches_a_naive_program() -> None:
    """score_weighted minimises ½Σw²/m (m the score shares); with λ₂ Σ(w − t/n)² added."""
    limits = {
        "sizing_mode": "score_weighted",
        "target_allocation": 0.9,
        "max_single_position": 0.2,
        "allow_cash_rollover": False,
        "min_score_threshold": 0.0,
        "l2_regularization": 4.0,
    }
    portfolio = _construct(limits)
    shares = SCORES.to_numpy() / SCORES.sum()
    w = cp.Variable(N)
    objective = 0.5 * cp.sum(cp.multiply(1 / shares, cp.square(w))) + 4.0 * cp.sum_squares(
        w - 0.9 / N
    )
    cp.Problem(cp.Minimize(objective), [cp.sum(w) == 0.9, w >= 0, w <= 0.2]).solve(**TIGHT)
    np.testing.assert_allclose(_weights(portfolio), w.value, atol=WEIGHTS)
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL


LONG_SHORT_L1 = {
    "sizing_mode": "mean_variance",
    "risk_aversion": 2.0,
    "allow_short": True,
    "max_short_position": 0.3,
    "target_allocation": 1.0,
    "max_single_position": 0.6,
    "allow_cash_rollover": False,
    "min_score_threshold": 0.0,
    "l1_regularization": 0.01,
}


def test_l1_on_a_long_short_book_matches_a_naive_program_and_zeroes_weights() -> None:
    portfolio = _construct(LONG_SHORT_L1)
    w = cp.Variable(N)
    objective = -MU.to_numpy() @ w + cp.quad_form(w, SIGMA) + 0.01 * cp.norm1(w)
    constraints = [cp.sum(w) == 1.0, w >= -0.3, w <= 0.6]
    cp.Problem(cp.Minimize(objective), constraints).solve(**TIGHT)
    weights = _weights(portfolio)
    np.testing.assert_allclose(weights, w.value, atol=WEIGHTS)
    plain = _weights(_construct({**LONG_SHORT_L1, "l1_regularization": 0.0}))
    assert np.abs(weights).sum() < np.abs(plain).sum() - 1e-3  # L1 prices gross exposure
    assert np.sum(np.abs(weights) <= 1e-9) > np.sum(np.abs(plain) <= 1e-9)  # and zeroes some
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        (
            {**FULLY_INVESTED, "sizing_mode": "mean_variance", "l2_regularization": 0.2},
            "l2_regularization",
        ),
        (LONG_SHORT_L1, "l1_regularization"),
    ],
)
def test_regularisation_prices_match_finite_differences(limits: dict, field: str) -> None:
    """d(optimum)/dλ = the penalty's own size at the optimum (envelope theorem), so the price is
    −Σ(w − t)² or −Σ|w|; checked against central differences of re-solved optima (step 1e-4)."""
    portfolio = _construct(limits)
    price = portfolio.sensitivity().loc[field, "shadow_price"]
    step = 1e-4
    up = _construct({**limits, field: limits[field] + step}).objective
    down = _construct({**limits, field: limits[field] - step}).objective
    assert price < -1e-4
    assert -(up - down) / (2 * step) == pytest.approx(price, rel=1e-4)


def test_equal_target_moves_the_price_of_target_allocation() -> None:
    """t = target/n, so ∂/∂target of λ₂Σ(w − t)² adds to target_allocation's price."""
    limits = {
        **FULLY_INVESTED,
        "target_allocation": 0.8,
        "sizing_mode": "min_variance",
        "l2_regularization": 0.5,
    }
    portfolio = _construct(limits)
    price = portfolio.sensitivity().loc["target_allocation", "shadow_price"]
    step = 1e-4
    up = _construct({**limits, "target_allocation": 0.8 + step}).objective
    down = _construct({**limits, "target_allocation": 0.8 - step}).objective
    assert -(up - down) / (2 * step) == pytest.approx(price, rel=1e-4)


def test_l2_towards_current_needs_a_current_book() -> None:
    limits = {"sizing_mode": "min_variance", "l2_regularization": 0.1, "l2_target": "current"}
    with pytest.raises(LimitsError, match="l2_target = 'current' needs a current book"):
        _construct(limits)


@pytest.mark.parametrize("fields", [{"l2_regularization": -1}, {"l1_regularization": -0.1}])
def test_negative_penalties_are_refused(fields: dict) -> None:
    with pytest.raises(LimitsError, match=next(iter(fields))):
        portcon.Limits(**fields)
