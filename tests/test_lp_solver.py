"""Linear programs go to HiGHS first (optimizer/solve.py): same answers, exact duals.

min_cvar under linear limits is a linear program (Rockafellar–Uryasev). Its answer through
HiGHS is checked against a Rockafellar–Uryasev program written out here and solved by Clarabel,
its CVaR recomputed in numpy, its KKT residuals, its prices against finite differences and
against the duals Clarabel gives for the same program. Programs that are not LPs never see
HiGHS.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.optimizer.solve import HIGHS_LP, SOLVER_CHAIN, solver_chain
from tests.finite_differences import check_shadow_prices

N, T = 12, 400
ASSETS = [f"A{i}" for i in range(N)]
LEVEL = 0.9
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _returns() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    common = rng.standard_t(4, size=(T, 1)) * 0.008
    own = rng.standard_t(5, size=(T, N)) * np.linspace(0.004, 0.014, N)
    return pd.DataFrame(0.0004 + common * np.linspace(0.4, 1.6, N) + own, columns=ASSETS)


RETURNS = _returns()
R = RETURNS.to_numpy()
SCORES = pd.Series(np.linspace(0.9, 0.6, N), index=ASSETS)
LIMITS = {
    "sizing_mode": "min_cvar",
    "min_score_threshold": 0.0,
    "max_single_position": 0.2,
    "max_bucket_allocation": None,
    "target_allocation": 0.95,
    "covariance_estimator": "sample",
    "risk_model": "historical",
    "confidence_level": LEVEL,
}


def _construct(limits: dict) -> portcon.Portfolio:
    return portcon.construct(SCORES, limits, returns=RETURNS)


def _naive(limits: dict) -> tuple[np.ndarray, float, float]:
    """Weights, least CVaR and the cap's price (Σ of the cap rows' duals), by Clarabel."""
    w, t, u = cp.Variable(N), cp.Variable(), cp.Variable(T, nonneg=True)
    cap = w <= limits["max_single_position"]
    rows = [u >= -R @ w - t, cp.sum(w) == limits["target_allocation"], w >= 0, cap]
    problem = cp.Problem(cp.Minimize(t + cp.sum(u) / ((1 - LEVEL) * T)), rows)
    problem.solve(**TIGHT)
    return np.asarray(w.value), float(problem.value), float(np.sum(cap.dual_value))


def _numpy_cvar(weights: np.ndarray) -> float:
    losses = np.sort(-R @ weights)[::-1]
    k = (1 - LEVEL) * len(losses)
    whole = int(np.floor(k))
    return float((losses[:whole].sum() + (k - whole) * losses[whole]) / k)


def test_min_cvar_is_solved_by_highs_and_equals_the_naive_program() -> None:
    portfolio = _construct(LIMITS)
    assert portfolio.solver == "HIGHS"
    weights = portfolio.weights.reindex(ASSETS).fillna(0.0).to_numpy()
    naive, least, cap_price = _naive(LIMITS)
    assert _numpy_cvar(weights) == pytest.approx(least, abs=1e-9)
    np.testing.assert_allclose(weights, naive, atol=1e-5)  # a vertex; Clarabel's is near it
    assert np.abs(portfolio.explanations["residual"]).max() < 1e-6
    capped = np.isclose(weights, LIMITS["max_single_position"], atol=1e-12)
    assert capped.sum() >= 2  # the cap binds: its price is tested below
    price = portfolio.sensitivity().loc["max_single_position", "shadow_price"]
    assert price == pytest.approx(cap_price, rel=1e-4)


def test_highs_prices_match_finite_differences() -> None:
    portfolio = _construct(LIMITS)
    assert portfolio.solver == "HIGHS"

    def objective_with(moved: dict) -> float:
        return _construct(moved).objective

    assert check_shadow_prices(portfolio, LIMITS, objective_with) >= 1


def test_only_linear_programs_see_highs() -> None:
    x = cp.Variable(3)
    linear = cp.Problem(cp.Minimize(cp.sum(x) + cp.norm1(x)), [x >= 0])
    quadratic = cp.Problem(cp.Minimize(cp.sum_squares(x)), [cp.sum(x) == 1])
    assert solver_chain(linear) == (HIGHS_LP, *SOLVER_CHAIN)
    assert solver_chain(quadratic) == SOLVER_CHAIN
    risk = _construct({**LIMITS, "sizing_mode": "min_variance"})
    assert not risk.solver.startswith("HIGHS")
