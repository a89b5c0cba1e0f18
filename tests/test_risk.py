"""Risk-based sizing: closed forms, factor vs dense form, KKT and finite differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import portcon
from portcon import FactorModel, InputError, LimitsError
from portcon.estimators import sample_covariance
from tests.finite_differences import check_shadow_prices
from tests.naive import cap_and_renormalise

WEIGHT_TOLERANCE = 1e-6
OPEN = dict(max_single_position=None, min_score_threshold=None, target_allocation=1.0)


def _factor_model(n: int, seed: int, k: int = 2) -> FactorModel:
    rng = np.random.default_rng(seed)
    assets = [f"K{i}" for i in range(n)]
    factors = [f"f{j}" for j in range(k)]
    loadings = pd.DataFrame(rng.normal(0.0, 0.15, (n, k)), index=assets, columns=factors)
    root = rng.normal(0, 1, (k, k))
    factor_cov = pd.DataFrame(root @ root.T / k + np.eye(k) * 0.5, index=factors, columns=factors)
    specific = pd.Series(rng.uniform(0.01, 0.05, n), index=assets)
    return FactorModel(loadings=loadings, factor_covariance=factor_cov, specific_variance=specific)


def _scores(model: FactorModel) -> pd.Series:
    return pd.Series(0.8, index=model.assets)


def test_unconstrained_kelly_is_fraction_times_inverse_covariance_times_mu() -> None:
    model = _factor_model(8, 1)
    sigma = model.covariance().to_numpy()
    target = np.linspace(0.02, 0.12, 8)  # a positive answer summing below 1
    fraction = 0.5
    mu = pd.Series(sigma @ target / fraction, index=model.assets)
    portfolio = portcon.construct(
        _scores(model),
        dict(OPEN, sizing_mode="kelly", kelly_fraction=fraction),
        factor_model=model,
        expected_returns=mu,
    )
    closed_form = fraction * np.linalg.solve(sigma, mu.to_numpy())
    np.testing.assert_allclose(portfolio.weights.to_numpy(), closed_form, atol=WEIGHT_TOLERANCE)
    assert portfolio.cash > 0.3  # Kelly keeps cash: the target is a ceiling
    assert portfolio.rollover == 0.0  # by choice, not because the limits could not absorb it


def test_unconstrained_min_variance_is_the_closed_form() -> None:
    model = _factor_model(7, 2)
    sigma = model.covariance().to_numpy()
    ones = np.ones(7)
    closed_form = np.linalg.solve(sigma, ones) / (ones @ np.linalg.solve(sigma, ones))
    assert closed_form.min() > 0, "test data must have a long-only minimum-variance portfolio"
    portfolio = portcon.construct(
        _scores(model), dict(OPEN, sizing_mode="min_variance"), factor_model=model
    )
    np.testing.assert_allclose(portfolio.weights.to_numpy(), closed_form, atol=WEIGHT_TOLERANCE)


def test_budget_only_mean_variance_is_the_closed_form() -> None:
    model = _factor_model(6, 3)
    sigma = model.covariance().to_numpy()
    gamma, target = 3.0, 0.9
    mu = np.linspace(0.05, 0.08, 6)
    inverse_mu, inverse_one = np.linalg.solve(sigma, mu), np.linalg.solve(sigma, np.ones(6))
    nu = (inverse_mu.sum() - gamma * target) / inverse_one.sum()
    closed_form = (inverse_mu - nu * inverse_one) / gamma
    assert closed_form.min() > 0, "test data must have a long-only answer"
    portfolio = portcon.construct(
        _scores(model),
        dict(OPEN, sizing_mode="mean_variance", risk_aversion=gamma, target_allocation=target),
        factor_model=model,
        expected_returns=pd.Series(mu, index=model.assets),
    )
    np.testing.assert_allclose(portfolio.weights.to_numpy(), closed_form, atol=WEIGHT_TOLERANCE)


def test_exact_kelly_matches_a_direct_maximisation_of_log_growth() -> None:
    rng = np.random.default_rng(4)
    returns = pd.DataFrame(rng.normal(0.004, 0.03, (300, 4)), columns=list("wxyz"))
    fraction = 0.5
    portfolio = portcon.construct(
        pd.Series(0.8, index=list("wxyz")),
        dict(OPEN, sizing_mode="kelly_exact", kelly_fraction=fraction, target_allocation=1.0),
        returns=returns,
    )
    history = returns.to_numpy()

    def negative_growth(u: np.ndarray) -> float:
        return -float(np.mean(np.log(1 + history @ u)))

    full = minimize(
        negative_growth,
        np.full(4, 0.1),
        method="SLSQP",
        bounds=[(0, None)] * 4,
        constraints=[{"type": "ineq", "fun": lambda u: 1 / fraction - u.sum()}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    np.testing.assert_allclose(portfolio.weights.to_numpy(), fraction * full.x, atol=1e-5)


def test_factor_and_dense_forms_give_the_same_weights() -> None:
    model = _factor_model(30, 5, k=3)
    frame = pd.DataFrame(
        {"score": np.linspace(0.6, 0.95, 30), "bucket": ["A", "B", "C"] * 10}, index=model.assets
    )
    limits = dict(
        sizing_mode="mean_variance",
        max_single_position=0.1,
        max_bucket_allocation=0.4,
        max_portfolio_volatility=0.12,
        risk_aversion=2.0,
    )
    mu = pd.Series(np.linspace(0.03, 0.09, 30), index=model.assets)
    factor_form = portcon.construct(frame, limits, factor_model=model, expected_returns=mu)
    dense_form = portcon.construct(
        frame, limits, covariance=model.covariance(), expected_returns=mu
    )
    np.testing.assert_allclose(factor_form.weights, dense_form.weights, atol=WEIGHT_TOLERANCE)


def test_returns_are_estimated_like_the_estimators_say() -> None:
    rng = np.random.default_rng(6)
    returns = pd.DataFrame(rng.normal(0.0004, 0.01, (400, 5)), columns=list("abcde"))
    limits = dict(
        OPEN,
        sizing_mode="mean_variance",
        covariance_estimator="sample",
        expected_return_estimator="historical",
        periods_per_year=252,
    )
    from_returns = portcon.construct(pd.Series(0.8, index=list("abcde")), limits, returns=returns)
    explicit = portcon.construct(
        pd.Series(0.8, index=list("abcde")),
        limits,
        covariance=sample_covariance(returns, periods_per_year=252),
        expected_returns=returns.mean() * 252,
    )
    np.testing.assert_allclose(from_returns.weights, explicit.weights, atol=WEIGHT_TOLERANCE)


def test_volatility_tilt_divides_shares_by_volatility() -> None:
    frame = pd.DataFrame(
        {"score": [0.9, 0.8, 0.7, 0.65], "volatility": [0.1, 0.4, 0.2, 0.3]}, index=list("abcd")
    )
    portfolio = portcon.construct(
        frame,
        dict(
            sizing_mode="score_weighted", volatility_position_scaling=True, max_single_position=0.45
        ),
    )
    expected = cap_and_renormalise(frame.score.to_numpy() / frame.volatility.to_numpy(), 0.45, 0.95)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHT_TOLERANCE)


KKT_TOLERANCE = 1e-6
RISK_CASES = [
    dict(sizing_mode="min_variance", max_portfolio_volatility=None),
    dict(sizing_mode="mean_variance", min_expected_return=0.06),
    dict(sizing_mode="mean_variance", max_portfolio_volatility=0.1),
    dict(sizing_mode="kelly", max_portfolio_volatility=0.08),
    dict(sizing_mode="score_weighted", max_portfolio_volatility=0.09),
    dict(sizing_mode="kelly_exact"),
    dict(sizing_mode="risk_parity"),
    dict(sizing_mode="risk_parity", risk_budgets={"A": 2.0, "B": 1.0, "C": 1.0}),
]


def _risk_inputs(seed: int):
    model = _factor_model(12, seed, k=2)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"score": rng.uniform(0.6, 1.0, 12), "bucket": ["A", "B", "C"] * 4}, index=model.assets
    )
    mu = pd.Series(rng.uniform(0.02, 0.1, 12), index=model.assets)
    chol = np.linalg.cholesky(model.covariance().to_numpy() / 52)
    history = pd.DataFrame(
        mu.to_numpy() / 52 + rng.normal(0, 1, (260, 12)) @ chol.T, columns=model.assets
    )
    return frame, dict(factor_model=model, expected_returns=mu, returns=history)


def _limits(case: dict) -> dict:
    return dict(case, max_single_position=0.2, max_bucket_allocation=0.45, min_score_threshold=0.6)


@pytest.mark.parametrize("case", RISK_CASES, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("seed", range(3))
def test_risk_modes_kkt_and_finite_differences(case: dict, seed: int) -> None:
    frame, market = _risk_inputs(seed)
    limits = _limits(case)
    portfolio = portcon.construct(frame, limits, **market)
    residual = portfolio.explanations["residual"].dropna()
    assert residual.abs().max() < KKT_TOLERANCE
    smooth = check_shadow_prices(
        portfolio, limits, lambda changed: portcon.construct(frame, changed, **market).objective
    )
    assert smooth >= 1


def test_binding_volatility_cap_is_explained() -> None:
    frame, market = _risk_inputs(0)
    portfolio = portcon.construct(
        frame, _limits(dict(sizing_mode="kelly", max_portfolio_volatility=0.05)), **market
    )
    row = portfolio.constraints.query("rule == 'max_portfolio_volatility'").iloc[0]
    assert row["binding"] and row["value"] == pytest.approx(0.05, abs=1e-7)
    assert row["shadow_price"] > 0
    assert portfolio.explanations["reason"].str.contains("max_portfolio_volatility binding").any()


def _risk_contributions(portfolio: portcon.Portfolio, model: FactorModel) -> np.ndarray:
    weights = portfolio.weights.to_numpy()
    contributions = weights * (model.covariance().to_numpy() @ weights)
    return contributions / contributions.sum()


def test_risk_parity_without_binding_limits_equalises_risk_contributions() -> None:
    model = _factor_model(15, 8, k=3)
    portfolio = portcon.construct(
        _scores(model),
        dict(OPEN, sizing_mode="risk_parity", target_allocation=0.9),
        factor_model=model,
    )
    np.testing.assert_allclose(_risk_contributions(portfolio, model), 1 / 15, rtol=1e-6)
    assert portfolio.weights.sum() == pytest.approx(0.9, abs=1e-9)


def test_risk_budgets_per_asset_and_per_bucket() -> None:
    model = _factor_model(6, 9, k=2)
    budgets = dict(zip(model.assets, [1, 2, 3, 1, 2, 3], strict=True))
    per_asset = portcon.construct(
        _scores(model),
        dict(OPEN, sizing_mode="risk_parity", risk_budgets=budgets),
        factor_model=model,
    )
    expected = np.array([1, 2, 3, 1, 2, 3]) / 12
    np.testing.assert_allclose(_risk_contributions(per_asset, model), expected, rtol=1e-6)
    frame = pd.DataFrame(
        {"score": 0.8, "bucket": ["X", "X", "Y", "Y", "Y", "Y"]}, index=model.assets
    )
    per_bucket = portcon.construct(
        frame,
        dict(OPEN, sizing_mode="risk_parity", risk_budgets={"X": 1.0, "Y": 1.0}),
        factor_model=model,
    )
    contributions = _risk_contributions(per_bucket, model)
    np.testing.assert_allclose(contributions, [1 / 4, 1 / 4, 1 / 8, 1 / 8, 1 / 8, 1 / 8], rtol=1e-6)
    with pytest.raises(LimitsError, match="risk_budgets must name every held asset"):
        portcon.construct(
            frame,
            dict(OPEN, sizing_mode="risk_parity", risk_budgets={"X": 1.0}),
            factor_model=model,
        )


@pytest.mark.parametrize(
    ("limits", "market", "error", "fragment"),
    [
        (dict(sizing_mode="min_variance"), {}, InputError, "needs a risk model"),
        (dict(sizing_mode="kelly_exact"), {}, InputError, "needs a return history"),
        (dict(max_portfolio_volatility=0.1), {}, LimitsError, "needs a risk model"),
        (dict(min_expected_return=0.05), {}, LimitsError, "needs expected returns"),
        (dict(sizing_mode="tiered", volatility_position_scaling=True), {}, LimitsError, "tilts"),
        (
            dict(),
            dict(covariance=pd.DataFrame(np.eye(2), index=["a", "b"], columns=["a", "b"])),
            InputError,
            "no data for asset(s) c",
        ),
        (
            dict(),
            dict(
                covariance=pd.DataFrame(
                    [[1.0, 2.0, 0], [2.0, 1.0, 0], [0, 0, 1.0]],
                    index=list("abc"),
                    columns=list("abc"),
                )
            ),
            InputError,
            "not positive semidefinite",
        ),
    ],
)
def test_missing_or_bad_market_data(limits, market, error, fragment) -> None:
    with pytest.raises(error) as caught:
        portcon.construct(pd.Series({"a": 0.9, "b": 0.8, "c": 0.7}), limits, **market)
    assert fragment in str(caught.value)


def _sharpe(weights: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> float:
    return float(mu @ weights / np.sqrt(weights @ sigma @ weights))


def test_unconstrained_max_sharpe_is_the_tangency_portfolio() -> None:
    model = _factor_model(6, 11)
    sigma = model.covariance().to_numpy()
    mu = sigma @ np.linspace(1.0, 2.0, 6) * 0.5  # tangency direction Σ⁻¹μ is positive
    portfolio = portcon.construct(
        _scores(model),
        dict(OPEN, sizing_mode="max_sharpe", target_allocation=0.9),
        factor_model=model,
        expected_returns=pd.Series(mu, index=model.assets),
    )
    direction = np.linalg.solve(sigma, mu)
    np.testing.assert_allclose(portfolio.weights, 0.9 * direction / direction.sum(), atol=1e-6)


def test_max_sharpe_under_caps_beats_every_point_of_the_frontier() -> None:
    frame, market = _risk_inputs(4)
    limits = dict(max_single_position=0.2, max_bucket_allocation=0.45, min_score_threshold=0.6)
    best = portcon.construct(frame, dict(limits, sizing_mode="max_sharpe"), **market)
    sigma = market["factor_model"].covariance().to_numpy()
    mu = market["expected_returns"].to_numpy()
    ours = _sharpe(best.weights.to_numpy(), mu, sigma)
    for gamma in np.geomspace(0.05, 200, 60):
        frontier = portcon.construct(
            frame, dict(limits, sizing_mode="mean_variance", risk_aversion=gamma), **market
        )
        assert _sharpe(frontier.weights.to_numpy(), mu, sigma) <= ours + 1e-9
    assert best.explanations["residual"].dropna().abs().max() < KKT_TOLERANCE


def test_conflicting_limits_raise_infeasible_error(tmp_path) -> None:
    frame, market = _risk_inputs(0)
    limits = dict(sizing_mode="kelly", min_expected_return=0.5, max_single_position=0.2)
    with pytest.raises(portcon.InfeasibleError) as caught:
        portcon.construct(frame, limits, **market)
    assert "min_expected_return" in caught.value.conflicts
    assert "long_only" not in caught.value.conflicts


def test_cli_exits_3_when_infeasible(tmp_path, capsys) -> None:
    from portcon.cli.main import main

    scores = tmp_path / "s.csv"
    scores.write_text("asset,score\nA,0.9\nB,0.8\n")
    expected = tmp_path / "mu.csv"
    expected.write_text("asset,mu\nA,0.05\nB,0.04\n")
    out = tmp_path / "out.csv"
    code = main(
        [
            "construct",
            str(scores),
            "--expected-returns",
            str(expected),
            "--min-expected-return",
            "0.2",
            "-o",
            str(out),
        ]
    )
    assert code == 3
    assert "no portfolio satisfies every limit" in capsys.readouterr().err
    assert not out.exists()


def test_any_scikit_learn_covariance_estimator_is_accepted() -> None:
    from sklearn.covariance import ShrunkCovariance

    rng = np.random.default_rng(12)
    returns = pd.DataFrame(rng.normal(0.0005, 0.01, (300, 5)), columns=list("abcde"))
    scores = pd.Series(0.8, index=list("abcde"))
    limits = dict(OPEN, sizing_mode="min_variance", periods_per_year=252)
    estimator = ShrunkCovariance(shrinkage=0.3)
    via_estimator = portcon.construct(scores, limits, returns=returns, covariance=estimator)
    annual = ShrunkCovariance(shrinkage=0.3).fit(returns.to_numpy()).covariance_ * 252
    explicit = portcon.construct(
        scores, limits, covariance=pd.DataFrame(annual, index=scores.index, columns=scores.index)
    )
    np.testing.assert_allclose(via_estimator.weights, explicit.weights, atol=WEIGHT_TOLERANCE)
    assert not hasattr(estimator, "covariance_")  # the caller's estimator is not modified


def test_covariance_repair_only_when_asked() -> None:
    scores = pd.Series({"a": 0.9, "b": 0.8, "c": 0.7})
    broken = pd.DataFrame(
        [[0.04, 0.05, 0.0], [0.05, 0.04, 0.0], [0.0, 0.0, 0.02]],
        index=list("abc"),
        columns=list("abc"),
    )
    with pytest.raises(InputError, match="repair_covariance=True"):
        portcon.construct(scores, dict(sizing_mode="min_variance"), covariance=broken)
    repaired = portcon.construct(
        scores, dict(sizing_mode="min_variance"), covariance=broken, repair_covariance=True
    )
    (note,) = repaired.notes
    values = np.linalg.eigvalsh(broken.to_numpy())
    assert f"smallest eigenvalue was {values.min():.3g}" in note
    clipped = np.linalg.eigh(broken.to_numpy())
    nearest = (clipped[1] * np.maximum(clipped[0], 0)) @ clipped[1].T
    assert f"{np.linalg.norm(nearest - broken.to_numpy()):.3g} in Frobenius norm" in note
