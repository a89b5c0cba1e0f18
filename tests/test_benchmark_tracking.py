"""Benchmark-relative books (issue 14, item 4): the benchmark_weight column, the tracking-error
cap, active bounds and the tracking-error objectives.

Every answer is checked against something independent: the benchmark itself (the unconstrained
minimum-tracking-error book), naive cvxpy programs written out here with the dense covariance,
the tracking error recomputed in numpy, KKT residuals, and central finite differences of the
optimum. Tolerances are per quantity.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.market import prepare_market_data
from portcon.report.check import violations
from portcon.universe import Universe
from tests.finite_differences import check_shadow_prices

WEIGHTS = 1e-6
RESIDUAL = 1e-6
TRACKING = 1e-8
CONE_WEIGHTS = 1e-5
N = 8
ASSETS = [f"A{i}" for i in range(N)]
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def _covariance() -> np.ndarray:
    rng = np.random.default_rng(7)
    loadings = rng.normal(size=(N, 2)) * 0.12
    return loadings @ loadings.T + np.diag(np.linspace(0.15, 0.3, N) ** 2)


SIGMA = _covariance()
COVARIANCE = pd.DataFrame(SIGMA, index=ASSETS, columns=ASSETS)
MU = np.linspace(0.0, 0.1, N)
BENCHMARK = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05])
BUCKETS = ["X", "X", "Y", "Y", "Z", "Z", "Z", "Z"]
SCORES = pd.DataFrame(
    {"score": np.linspace(0.7, 0.9, N), "bucket": BUCKETS, "benchmark_weight": BENCHMARK},
    index=ASSETS,
)
LOOSE = {
    "target_allocation": 1.0,
    "max_single_position": 1.0,
    "min_score_threshold": 0.0,
    "allow_cash_rollover": False,
}


def _construct(limits: dict, scores: pd.DataFrame = SCORES) -> portcon.Portfolio:
    return portcon.construct(
        scores, limits, covariance=COVARIANCE, expected_returns=pd.Series(MU, index=ASSETS)
    )


def _weights(portfolio: portcon.Portfolio) -> np.ndarray:
    return portfolio.weights.reindex(ASSETS).fillna(0.0).to_numpy()


def _tracking_error(weights: np.ndarray, benchmark: np.ndarray = BENCHMARK) -> float:
    active = weights - benchmark
    return float(np.sqrt(active @ SIGMA @ active))


def _naive(limits: dict, benchmark: np.ndarray = BENCHMARK) -> np.ndarray:
    """The program written out by hand with the dense covariance: mean-variance, min-TE or
    active mean-variance, Σw = target, 0 ≤ w ≤ cap, TE cap, active bounds per asset and bucket."""
    w = cp.Variable(N)
    active = w - benchmark
    root = np.linalg.cholesky(SIGMA)
    constraints = [cp.sum(w) == limits["target_allocation"], w >= 0]
    constraints.append(w <= limits["max_single_position"])
    if limits.get("max_tracking_error") is not None:
        constraints.append(cp.norm(root.T @ active, 2) <= limits["max_tracking_error"])
    if limits.get("max_active_weight") is not None:
        constraints.append(cp.abs(active) <= limits["max_active_weight"])
    caps = dict(limits.get("active_bucket_caps", {}))
    every = limits.get("max_active_bucket_allocation")
    for bucket in sorted(set(BUCKETS)):
        cap = caps.get(bucket, every)
        if cap is not None:
            inside = np.array([b == bucket for b in BUCKETS], dtype=float)
            constraints.append(cp.abs(inside @ active) <= cap)
    gamma = limits.get("risk_aversion", 1.0)
    mode = limits["sizing_mode"]
    if mode == "min_tracking_error":
        objective = cp.Minimize(cp.quad_form(active, SIGMA))
    elif mode == "active_mean_variance":
        objective = cp.Maximize(MU @ active - gamma / 2 * cp.quad_form(active, SIGMA))
    else:
        objective = cp.Maximize(MU @ w - gamma / 2 * cp.quad_form(w, SIGMA))
    problem = cp.Problem(objective, constraints)
    problem.solve(**TIGHT)
    assert problem.status == cp.OPTIMAL
    return np.asarray(w.value)


def _utility(weights: np.ndarray, gamma: float) -> float:
    return float(MU @ weights - gamma / 2 * weights @ SIGMA @ weights)


def _assert_kkt(portfolio: portcon.Portfolio) -> None:
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL


def test_unconstrained_min_tracking_error_is_the_benchmark() -> None:
    book = _construct({**LOOSE, "sizing_mode": "min_tracking_error"})
    np.testing.assert_allclose(_weights(book), BENCHMARK, atol=WEIGHTS)
    assert book.metrics.tracking_error == pytest.approx(0.0, abs=1e-6)
    assert book.metrics.active_share == pytest.approx(0.0, abs=1e-6)
    _assert_kkt(book)


def test_benchmark_below_one_keeps_its_cash_and_is_still_matched() -> None:
    """A benchmark summing to 0.9 is used as given (not rescaled): with target 0.9 the
    minimum-tracking-error book is the benchmark, its 10% cash matched by the book's."""
    partial = BENCHMARK * 0.9
    scores = SCORES.assign(benchmark_weight=partial)
    book = _construct(
        {**LOOSE, "target_allocation": 0.9, "sizing_mode": "min_tracking_error"}, scores
    )
    np.testing.assert_allclose(_weights(book), partial, atol=WEIGHTS)
    assert book.cash == pytest.approx(0.1, abs=1e-9)


def test_min_tracking_error_under_binding_caps_matches_naive_program() -> None:
    limits = {**LOOSE, "sizing_mode": "min_tracking_error", "max_single_position": 0.2}
    book = _construct(limits)
    expected = _naive(limits)
    np.testing.assert_allclose(_weights(book), expected, atol=WEIGHTS)
    assert book.metrics.tracking_error == pytest.approx(_tracking_error(expected), abs=1e-7)
    _assert_kkt(book)
    head = book.explanations.loc["A3", "reason"]
    assert head.startswith("sized") and "benchmark 10.0%, active" in head


@pytest.mark.parametrize("cap", [0.02, 0.05])
def test_binding_tracking_error_cap_matches_naive_program(cap: float) -> None:
    limits = {
        **LOOSE,
        "sizing_mode": "mean_variance",
        "risk_aversion": 2.0,
        "max_single_position": 0.4,
        "max_tracking_error": cap,
    }
    book = _construct(limits)
    expected = _naive(limits)
    # on a binding cone the optimum is flat to second order: the naive solve (Clarabel at
    # 1e-10, interior by ~1e-10 in TE) leaves the weights ~5e-6 apart while its utility is
    # 5e-11 below portcon's; compare the utility tightly and the weights to 1e-5
    np.testing.assert_allclose(_weights(book), expected, atol=CONE_WEIGHTS)
    assert _utility(_weights(book), 2.0) >= _utility(expected, 2.0) - 1e-9
    # the cap binds, and the tracking error recomputed from the dense covariance is the reported
    assert _tracking_error(_weights(book)) == pytest.approx(cap, abs=TRACKING)
    assert book.metrics.tracking_error == pytest.approx(_tracking_error(_weights(book)), abs=1e-12)
    assert book.sensitivity().loc["max_tracking_error", "shadow_price"] > 1e-4
    _assert_kkt(book)
    assert "max_tracking_error binding" in book.explanations.loc["A7", "reason"]


def test_active_mean_variance_with_active_bounds_matches_naive_program() -> None:
    limits = {
        **LOOSE,
        "sizing_mode": "active_mean_variance",
        "risk_aversion": 5.0,
        "max_single_position": 0.35,
        "max_active_weight": 0.06,
        "max_active_bucket_allocation": 0.05,
        "active_bucket_caps": {"Z": 0.03},
    }
    book = _construct(limits)
    expected = _naive(limits)
    np.testing.assert_allclose(_weights(book), expected, atol=WEIGHTS)
    active = _weights(book) - BENCHMARK
    assert np.abs(active).max() == pytest.approx(0.06, abs=1e-8)
    _assert_kkt(book)


def test_active_mean_variance_unconstrained_closed_form() -> None:
    """Without limits a = Σ⁻¹(μ − ν1)/γ with ν chosen so Σa = 0 (target = Σb = 1)."""
    gamma = 4.0
    limits = {
        **LOOSE,
        "sizing_mode": "active_mean_variance",
        "risk_aversion": gamma,
        "allow_short": True,
        "max_single_position": 1.0,
    }
    book = _construct(limits)
    inverse = np.linalg.inv(SIGMA)
    ones = np.ones(N)
    nu = float(ones @ inverse @ MU) / float(ones @ inverse @ ones)
    closed = inverse @ (MU - nu * ones) / gamma
    np.testing.assert_allclose(_weights(book) - BENCHMARK, closed, atol=WEIGHTS)
    _assert_kkt(book)


def test_excluded_benchmark_names_count_in_the_tracking_error() -> None:
    """A0 and A1 score below the threshold: out of the book, their active weight is −b."""
    limits = {**LOOSE, "sizing_mode": "min_tracking_error", "min_score_threshold": 0.75}
    book = _construct(limits)
    w = _weights(book)
    assert w[0] == 0 and w[1] == 0
    members = np.arange(2, N)
    x = cp.Variable(len(members))
    full = cp.hstack([np.zeros(2), x])
    problem = cp.Problem(
        cp.Minimize(cp.quad_form(full - BENCHMARK, SIGMA)), [cp.sum(x) == 1.0, x >= 0]
    )
    problem.solve(**TIGHT)
    np.testing.assert_allclose(w[members], x.value, atol=WEIGHTS)
    assert book.metrics.tracking_error == pytest.approx(_tracking_error(w), abs=1e-10)
    assert book.metrics.active_share == pytest.approx(0.5 * np.abs(w - BENCHMARK).sum(), abs=1e-12)
    _assert_kkt(book)


def _objective_with(limits: dict) -> float:
    return _construct(limits).objective


def test_shadow_prices_of_tracking_error_and_active_bounds() -> None:
    limits = {
        **LOOSE,
        "target_allocation": 0.98,  # room to move it both ways
        "sizing_mode": "mean_variance",
        "risk_aversion": 2.0,
        "max_single_position": 0.4,
        "max_tracking_error": 0.04,
        "max_active_weight": 0.08,
        "active_bucket_caps": {"X": 0.04},
    }
    book = _construct(limits)
    prices = book.sensitivity()["shadow_price"]
    for label in ("max_tracking_error", "max_active_weight", "active_bucket_caps[X]"):
        assert abs(prices[label]) > 1e-4, label  # each binds: a test that can fail
    smooth = check_shadow_prices(book, limits, _objective_with)
    assert smooth >= 3


def test_shadow_prices_under_min_tracking_error() -> None:
    limits = {
        **LOOSE,
        "target_allocation": 0.98,
        "sizing_mode": "min_tracking_error",
        "max_single_position": 0.25,
        "max_active_bucket_allocation": 0.03,
    }
    book = _construct(limits)
    assert abs(book.sensitivity().loc["max_active_bucket_allocation", "shadow_price"]) > 1e-6
    assert check_shadow_prices(book, limits, _objective_with) >= 2


def test_checker_recomputes_tracking_error_and_active_bounds() -> None:
    universe = Universe.from_scores(SCORES)
    limits = portcon.Limits(
        max_tracking_error=0.01, max_active_weight=0.05, active_bucket_caps={"X": 0.02}
    )
    data = prepare_market_data(universe, limits, covariance=COVARIANCE)
    equal = np.full(N, 1.0 / N)
    found = violations(equal, universe, limits, market=data)
    assert any(text.startswith("max_tracking_error") for text in found)
    assert any(text.startswith("max_active_weight A0") for text in found)
    assert any(text.startswith("active bucket cap X") for text in found)
    assert not [
        text for text in violations(BENCHMARK, universe, limits, market=data) if "active" in text
    ]
