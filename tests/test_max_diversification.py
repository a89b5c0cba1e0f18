"""max_diversification: closed form, a naive homogenised reference, brute force, KKT, errors."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import portcon
from portcon import InputError, LimitsError

WEIGHT_TOLERANCE = 1e-6
KKT_TOLERANCE = 1e-6
CAP, BUCKET_CAP = 0.2, 0.4
MODE = dict(sizing_mode="max_diversification", min_score_threshold=None)


def _covariance(n: int, seed: int) -> pd.DataFrame:
    """A dense covariance with two factors and unequal specific risk."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, 0.15, (n, 2)) + np.array([0.12, 0.0])
    specific = rng.uniform(0.005, 0.06, n)
    names = [f"D{i}" for i in range(n)]
    return pd.DataFrame(loadings @ loadings.T + np.diag(specific), index=names, columns=names)


def _ratio(weights: np.ndarray, sigma: np.ndarray) -> float:
    """D(w) = σᵀw / √(wᵀΣw), from the covariance alone."""
    return float(np.sqrt(np.diag(sigma)) @ weights / np.sqrt(weights @ sigma @ weights))


def _capped_inputs(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    covariance = _covariance(12, seed)
    frame = pd.DataFrame({"score": 0.8, "bucket": ["A", "B", "C"] * 4}, index=covariance.index)
    limits = dict(MODE, max_single_position=CAP, max_bucket_allocation=BUCKET_CAP)
    return frame, covariance, limits


def _naive_reference(sigma: np.ndarray, buckets: np.ndarray, target: float) -> np.ndarray:
    """The homogenised program stated from scratch: y = κw, min yᵀΣy, σᵀy = 1, Σy = κ·target,
    0 ≤ y ≤ CAP·κ, each bucket's Σy ≤ BUCKET_CAP·κ."""
    n = len(sigma)
    y, kappa = cp.Variable(n), cp.Variable(nonneg=True)
    constraints = [
        np.sqrt(np.diag(sigma)) @ y == 1,
        cp.sum(y) == target * kappa,
        y >= 0,
        y <= CAP * kappa,
    ]
    for bucket in np.unique(buckets):
        constraints.append(cp.sum(y[buckets == bucket]) <= BUCKET_CAP * kappa)
    cp.Problem(cp.Minimize(cp.quad_form(y, sigma)), constraints).solve(solver="CLARABEL")
    return np.asarray(y.value) / float(kappa.value)


def test_unconstrained_answer_is_inverse_covariance_times_volatilities() -> None:
    covariance = _covariance(7, 0)
    sigma = covariance.to_numpy()
    direction = np.linalg.solve(sigma, np.sqrt(np.diag(sigma)))
    assert direction.min() > 0, "test data must have a long-only most-diversified portfolio"
    book = portcon.construct(
        pd.Series(0.8, index=covariance.index),
        dict(MODE, target_allocation=0.9, max_single_position=None),
        covariance=covariance,
    )
    closed_form = 0.9 * direction / direction.sum()
    np.testing.assert_allclose(book.weights.to_numpy(), closed_form, atol=WEIGHT_TOLERANCE)
    assert book.explanations["residual"].dropna().abs().max() < KKT_TOLERANCE


def test_capped_answer_matches_a_naive_homogenised_program() -> None:
    frame, covariance, limits = _capped_inputs()
    book = portcon.construct(frame, dict(limits, target_allocation=1.0), covariance=covariance)
    sigma = covariance.to_numpy()
    reference = _naive_reference(sigma, frame["bucket"].to_numpy(), 1.0)

    buckets = frame["bucket"].to_numpy()
    assert reference.max() > CAP - 1e-6, "test data must make max_single_position bind"
    assert any(reference[buckets == b].sum() > BUCKET_CAP - 1e-6 for b in "ABC"), (
        "test data must make max_bucket_allocation bind"
    )
    np.testing.assert_allclose(book.weights.to_numpy(), reference, atol=WEIGHT_TOLERANCE)
    # the reference is a bare interior-point answer (~1e-8 inside); ours may only be better
    assert _ratio(book.weights.to_numpy(), sigma) >= _ratio(reference, sigma) - 1e-9
    assert book.explanations["residual"].dropna().abs().max() < KKT_TOLERANCE


def _feasible_portfolios(buckets: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Random portfolios within the caps: Dirichlet draws kept when feasible, and the extreme
    points of the feasible set (linear programs with random objectives)."""
    n = len(buckets)

    def feasible(w: np.ndarray) -> bool:
        in_buckets = all(w[buckets == b].sum() <= BUCKET_CAP + 1e-12 for b in np.unique(buckets))
        return bool(w.max() <= CAP + 1e-12 and in_buckets)

    found = [w for w in rng.dirichlet(np.full(n, 4.0), 3000) if feasible(w)]
    rows = np.array([(buckets == b).astype(float) for b in np.unique(buckets)])
    for _ in range(60):
        vertex = linprog(
            rng.normal(size=n),
            A_ub=rows,
            b_ub=np.full(len(rows), BUCKET_CAP),
            A_eq=np.ones((1, n)),
            b_eq=[1.0],
            bounds=[(0, CAP)] * n,
        ).x
        found.append(vertex)
        found.append(0.5 * (vertex + found[rng.integers(len(found))]))
    return found


def test_no_feasible_portfolio_is_more_diversified() -> None:
    frame, covariance, limits = _capped_inputs()
    book = portcon.construct(frame, dict(limits, target_allocation=1.0), covariance=covariance)
    sigma = covariance.to_numpy()
    ours = _ratio(book.weights.to_numpy(), sigma)
    portfolios = _feasible_portfolios(frame["bucket"].to_numpy(), np.random.default_rng(7))
    assert len(portfolios) > 1000
    best_other = max(_ratio(w, sigma) for w in portfolios)
    assert best_other <= ours + 1e-9
    for other_mode in ("min_variance", "equal_weight"):
        other = portcon.construct(
            frame,
            dict(limits, sizing_mode=other_mode, target_allocation=1.0),
            covariance=covariance,
        )
        assert _ratio(other.weights.to_numpy(), sigma) <= ours + 1e-9


def test_two_assets_beat_a_fine_grid() -> None:
    covariance = _covariance(2, 11)
    sigma = covariance.to_numpy()
    book = portcon.construct(
        pd.Series(0.8, index=covariance.index),
        dict(MODE, target_allocation=1.0, max_single_position=0.7),
        covariance=covariance,
    )
    grid = np.linspace(0.3, 0.7, 4001)  # every portfolio within the 70% cap, step 1e-4
    ratios = [_ratio(np.array([a, 1 - a]), sigma) for a in grid]
    ours = _ratio(book.weights.to_numpy(), sigma)
    assert max(ratios) <= ours + 1e-9
    assert abs(book.weights.iloc[0] - grid[int(np.argmax(ratios))]) <= 2e-4


def test_explanations_are_mean_variance_with_volatilities_at_gamma_star() -> None:
    """The sizing column is the marginal objective −σ + γ*Σw, γ* = σᵀw/(wᵀΣw) recomputed in
    numpy; the binding caps carry positive prices and the split closes (KKT)."""
    frame, covariance, limits = _capped_inputs()
    book = portcon.construct(frame, dict(limits, target_allocation=1.0), covariance=covariance)
    sigma, weights = covariance.to_numpy(), book.weights.to_numpy()
    volatilities = np.sqrt(np.diag(sigma))
    gamma = volatilities @ weights / (weights @ sigma @ weights)
    marginal = -volatilities + gamma * sigma @ weights
    explanations = book.explanations
    np.testing.assert_allclose(explanations["sizing"].to_numpy(), marginal, atol=1e-6)
    assert explanations["residual"].dropna().abs().max() < KKT_TOLERANCE
    capped = weights > CAP - 1e-6
    assert capped.any() and (explanations["max_single_position"][capped] > 1e-4).all()
    full = frame["bucket"].map(frame.assign(w=weights).groupby("bucket")["w"].sum()) > 0.4 - 1e-6
    assert full.any() and (explanations["max_bucket_allocation"][full.to_numpy()] > 1e-4).all()
    assert "maximum-diversification" in book.objective_meaning


def test_count_limits_are_refused_clearly() -> None:
    frame, covariance, limits = _capped_inputs()
    with pytest.raises(LimitsError, match=r"max_diversification.*max_total_positions"):
        portcon.construct(frame, dict(limits, max_total_positions=4), covariance=covariance)


def test_without_a_risk_model_the_error_says_what_to_pass() -> None:
    frame, _, limits = _capped_inputs()
    with pytest.raises(InputError, match=r"max_diversification.*needs a risk model"):
        portcon.construct(frame, limits)


def test_shorts_are_refused_with_the_modes_that_can_price_them() -> None:
    frame, covariance, limits = _capped_inputs()
    with pytest.raises(LimitsError, match=r"max_diversification.*max_sharpe"):
        portcon.construct(frame, dict(limits, allow_short=True), covariance=covariance)


def test_a_riskless_asset_is_named() -> None:
    covariance = _covariance(4, 2)
    covariance.iloc[0, :] = 0.0
    covariance.iloc[:, 0] = 0.0
    with pytest.raises(InputError, match=r"positive volatility.*D0"):
        portcon.construct(pd.Series(0.8, index=covariance.index), dict(MODE), covariance=covariance)


def test_weight_sensitivity_is_not_claimed_at_fixed_gamma() -> None:
    """γ* moves with every limit (as for max_sharpe), so no weight derivative is reported."""
    names = ["A", "B", "C"]
    covariance = pd.DataFrame(
        [[0.040, 0.006, 0.004], [0.006, 0.025, 0.005], [0.004, 0.005, 0.030]],
        index=names,
        columns=names,
    )
    book = portcon.construct(
        pd.Series(1.0, index=names),
        {"sizing_mode": "max_diversification", "max_single_position": 0.4},
        covariance=covariance,
    )
    moves = book.weight_sensitivity()
    assert "max_diversification" in moves.note and "γ*" in moves.note
    assert "diversification ratio" in book.summary()


@pytest.mark.parametrize("method", ["heuristic", "exact"])
def test_a_min_weight_if_held_column_is_refused_on_every_count_path(method: str) -> None:
    names = ["A", "B", "C"]
    covariance = pd.DataFrame(
        [[0.040, 0.006, 0.004], [0.006, 0.025, 0.005], [0.004, 0.005, 0.030]],
        index=names,
        columns=names,
    )
    frame = pd.DataFrame({"score": 1.0, "min_weight_if_held": 0.35}, index=names)
    limits = {"sizing_mode": "max_diversification", "max_single_position": 0.5}
    with pytest.raises(LimitsError, match="min_weight_if_held"):
        portcon.construct(frame, {**limits, "mip_method": method}, covariance=covariance)
