"""Long-short books and leverage (issue 14, item 3).

Every answer is checked against a naive cvxpy program written out here, closed forms (130/30
and market-neutral exposures), KKT residuals, central finite differences of the optimum, and
the independent checker. Tolerances are per quantity.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.errors import InfeasibleError, LimitsError
from portcon.report.check_exposure import exposure_violations
from portcon.universe import Universe

WEIGHTS = 1e-6
RESIDUAL = 1e-6
EXPOSURE = 1e-8
N = 8
ASSETS = [f"A{i}" for i in range(N)]
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _covariance() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    loadings = rng.normal(size=(N, 2)) * 0.12
    specific = np.linspace(0.15, 0.3, N) ** 2
    return pd.DataFrame(loadings @ loadings.T + np.diag(specific), index=ASSETS, columns=ASSETS)


COVARIANCE = _covariance()
SIGMA = COVARIANCE.to_numpy()
MU = pd.Series(np.linspace(-0.08, 0.14, N), index=ASSETS)
SCORES = pd.Series(np.linspace(0.7, 0.9, N), index=ASSETS)

LONG_SHORT = {
    "sizing_mode": "mean_variance",
    "risk_aversion": 3.0,
    "allow_short": True,
    "max_short_position": 0.1,
    "leverage_limit": 1.6,
    "target_allocation": 1.0,
    "max_single_position": 0.4,
    "allow_cash_rollover": False,
    "min_score_threshold": 0.0,
}


def _construct(limits: dict, scores: pd.Series | pd.DataFrame = SCORES) -> portcon.Portfolio:
    return portcon.construct(scores, limits, covariance=COVARIANCE, expected_returns=MU)


def _naive_mean_variance(limits: dict, short: np.ndarray | None = None) -> np.ndarray:
    """max μᵀw − γ/2 wᵀΣw over −s ≤ w ≤ cap, Σw = target, Σ|w| ≤ L, written out by hand."""
    w = cp.Variable(N)
    room = np.full(N, limits.get("max_short_position") or np.inf) if short is None else short
    constraints = [cp.sum(w) == limits["target_allocation"], w <= limits["max_single_position"]]
    finite = np.isfinite(room)
    constraints.append(w[finite] >= -room[finite])
    if limits.get("leverage_limit") is not None:
        constraints.append(cp.norm1(w) <= limits["leverage_limit"])
    utility = MU.to_numpy() @ w - limits["risk_aversion"] / 2 * cp.quad_form(w, SIGMA)
    cp.Problem(cp.Maximize(utility), constraints).solve(**TIGHT)
    return np.asarray(w.value)


def _weights(portfolio: portcon.Portfolio) -> np.ndarray:
    return portfolio.weights.reindex(ASSETS).to_numpy()


def _assert_exact_kkt(portfolio: portcon.Portfolio) -> None:
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL


def test_long_short_mean_variance_matches_a_naive_program() -> None:
    portfolio = _construct(LONG_SHORT)
    weights = _weights(portfolio)
    np.testing.assert_allclose(weights, _naive_mean_variance(LONG_SHORT), atol=WEIGHTS)
    assert weights.min() < -0.05  # the book really is long-short
    _assert_exact_kkt(portfolio)
    universe = Universe.from_scores(SCORES)
    assert not exposure_violations(weights, universe, portfolio.limits, EXPOSURE)


def test_130_30_gross_and_net_are_exact() -> None:
    """With expected returns strong enough to want more leverage, the leverage row binds:
    net = 100% (the budget), gross = 160%, so long = 130% and short = 30% exactly."""
    limits = {**LONG_SHORT, "risk_aversion": 0.5, "max_short_position": 0.2}
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    long, short = weights[weights > 0].sum(), -weights[weights < 0].sum()
    assert long == pytest.approx(1.3, abs=EXPOSURE)
    assert short == pytest.approx(0.3, abs=EXPOSURE)
    assert np.abs(weights).sum() == pytest.approx(1.6, abs=EXPOSURE)
    assert weights.sum() == pytest.approx(1.0, abs=EXPOSURE)
    assert portfolio.cash == pytest.approx(0.0, abs=EXPOSURE)
    assert portfolio.sensitivity().loc["leverage_limit", "shadow_price"] > 0
    note = next(n for n in portfolio.notes if n.startswith("long-short book"))
    assert "long 130.0%, short 30.0%; gross 160.0% (leverage_limit 160.0%), net 100.0%" in note
    np.testing.assert_allclose(weights, _naive_mean_variance(limits), atol=WEIGHTS)
    _assert_exact_kkt(portfolio)


def test_market_neutral_book_has_zero_net_exposure() -> None:
    limits = {**LONG_SHORT, "target_allocation": 0.0, "leverage_limit": 2.0, "risk_aversion": 1}
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    assert weights.sum() == pytest.approx(0.0, abs=EXPOSURE)
    assert portfolio.cash == pytest.approx(1.0, abs=EXPOSURE)  # cash = 1 − net
    np.testing.assert_allclose(weights, _naive_mean_variance(limits), atol=WEIGHTS)
    _assert_exact_kkt(portfolio)


def test_shadow_prices_of_leverage_and_short_cap_match_finite_differences() -> None:
    """Central differences, step 1e-4 (the optimum is piecewise quadratic in each field while
    the active set holds; a smaller step drowns in the solver's ~1e-10 objective noise)."""
    limits = {**LONG_SHORT, "risk_aversion": 1.0, "max_short_position": 0.08}
    portfolio = _construct(limits)
    prices = portfolio.sensitivity()
    assert {"leverage_limit", "max_short_position"} <= set(prices.index)
    step = 1e-4
    for field in ("leverage_limit", "max_short_position"):
        up = _construct({**limits, field: limits[field] + step}).objective
        down = _construct({**limits, field: limits[field] - step}).objective
        price = prices.loc[field, "shadow_price"]
        assert abs(price) > 1e-3, field  # both bind here: a real check, not 0 = 0
        assert -(up - down) / (2 * step) == pytest.approx(price, rel=1e-3), field


def test_a_short_names_what_limits_it() -> None:
    limits = {**LONG_SHORT, "risk_aversion": 1.0, "max_short_position": 0.08}
    portfolio = _construct(limits)
    table = portfolio.explanations
    at_cap = table[np.isclose(table["weight"], -0.08, atol=1e-12)]
    assert len(at_cap) >= 1
    for reason in at_cap["reason"]:
        assert reason.startswith("short -8.0%, capped by max_short_position")
        assert "leverage_limit binding" in reason
    free = table[(table["weight"] < -1e-6) & (table["weight"] > -0.08 + 1e-6)]
    for reason in free["reason"]:
        assert reason.startswith("short ") and "sized by mean-variance utility" in reason


def test_max_short_weight_column_allows_shorts_per_asset() -> None:
    column = np.full(N, np.nan)
    column[[0, 1]] = [0.05, 0.12]  # only A0 and A1 may go short, each to its own cap
    scores = pd.DataFrame({"score": SCORES, "max_short_weight": column})
    limits = {k: v for k, v in LONG_SHORT.items() if k not in ("allow_short", "max_short_position")}
    portfolio = _construct(limits, scores)
    weights = _weights(portfolio)
    room = np.where(np.isnan(column), 0.0, column)
    np.testing.assert_allclose(weights, _naive_mean_variance(limits, room), atol=WEIGHTS)
    assert weights[0] == pytest.approx(-0.05, abs=1e-9)
    assert np.all(weights[2:] >= -1e-12)
    assert "capped by max_short_weight" in portfolio.explanations.loc["A0", "reason"]
    _assert_exact_kkt(portfolio)


def test_min_variance_with_unbounded_shorts_and_leverage_matches_naive() -> None:
    limits = {
        "sizing_mode": "min_variance",
        "allow_short": True,
        "leverage_limit": 1.3,
        "target_allocation": 1.0,
        "max_single_position": 0.5,
        "allow_cash_rollover": False,
        "min_score_threshold": 0.0,
    }
    portfolio = _construct(limits)
    w = cp.Variable(N)
    constraints = [cp.sum(w) == 1.0, w <= 0.5, cp.norm1(w) <= 1.3]
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(w, SIGMA)), constraints).solve(**TIGHT)
    np.testing.assert_allclose(_weights(portfolio), w.value, atol=WEIGHTS)
    _assert_exact_kkt(portfolio)


def test_an_asset_held_at_zero_by_the_leverage_kink_is_explained() -> None:
    """Where gross exposure binds, assets whose marginal utility lies inside [−g, g] stay at 0:
    the leverage_limit column takes the part of the subgradient that closes the identity."""
    limits = {**LONG_SHORT, "risk_aversion": 0.5, "max_short_position": 0.2}
    portfolio = _construct(limits)
    table = portfolio.explanations
    zero = table[table["weight"].abs() <= 1e-9]
    assert len(zero) >= 1
    price = portfolio.sensitivity().loc["leverage_limit", "shadow_price"]
    assert (zero["leverage_limit"].abs() <= price + 1e-9).all()
    _assert_exact_kkt(portfolio)


def test_max_sharpe_long_short_matches_the_homogenised_naive_program() -> None:
    limits = {**LONG_SHORT, "sizing_mode": "max_sharpe"}
    portfolio = _construct(limits)
    y, scale = cp.Variable(N), cp.Variable(nonneg=True)
    constraints = [
        MU.to_numpy() @ y == 1,
        cp.sum(y) == scale,
        y <= 0.4 * scale,
        y >= -0.1 * scale,
        cp.norm1(y) <= 1.6 * scale,
    ]
    cp.Problem(cp.Minimize(cp.quad_form(y, SIGMA)), constraints).solve(**TIGHT)
    np.testing.assert_allclose(_weights(portfolio), y.value / scale.value, atol=1e-5)
    _assert_exact_kkt(portfolio)


def test_min_net_exposure_lets_the_objective_choose_the_net() -> None:
    limits = {**LONG_SHORT, "target_allocation": 0.6, "min_net_exposure": -0.2, "risk_aversion": 8}
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    w = cp.Variable(N)
    constraints = [
        cp.sum(w) <= 0.6,
        cp.sum(w) >= -0.2,
        w <= 0.4,
        w >= -0.1,
        cp.norm1(w) <= 1.6,
    ]
    utility = MU.to_numpy() @ w - 4 * cp.quad_form(w, SIGMA)
    cp.Problem(cp.Maximize(utility), constraints).solve(**TIGHT)
    np.testing.assert_allclose(weights, w.value, atol=WEIGHTS)
    assert -0.2 + 1e-6 < weights.sum() < 0.6 - 1e-6  # inside the range: chosen, not forced
    assert portfolio.rollover == 0.0
    assert "chosen by the objective" in portfolio.cash_reason
    _assert_exact_kkt(portfolio)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        (dict(allow_short=True), "sizing_mode 'adaptive'"),
        (dict(allow_short=True, sizing_mode="risk_parity"), "use min_variance"),
        (dict(target_allocation=0.0), "needs allow_short"),
        (dict(max_short_position=0.1), "allow_short is false"),
        (dict(min_net_exposure=-0.1), "needs allow_short"),
        (dict(allow_short=True, sizing_mode="mean_variance", min_net_exposure=0.99), "above"),
        (
            dict(allow_short=True, sizing_mode="max_sharpe", target_allocation=0.0),
            "max_sharpe needs a positive, fixed net exposure",
        ),
        (dict(leverage_limit=0.0), "leverage_limit"),
    ],
)
def test_bad_exposure_limits_raise_limits_errors(fields: dict, fragment: str) -> None:
    with pytest.raises(LimitsError) as caught:
        portcon.Limits(**fields)
    assert fragment in str(caught.value)


def test_a_short_column_with_a_score_mode_is_refused() -> None:
    scores = pd.DataFrame({"score": SCORES, "max_short_weight": [0.1] + [np.nan] * (N - 1)})
    with pytest.raises(LimitsError, match=r"max_short_weight column \(for A0\)"):
        portcon.construct(scores, {"sizing_mode": "score_weighted", "min_score_threshold": 0})


def test_checker_rederives_short_caps_gross_and_net() -> None:
    universe = Universe.from_scores(
        pd.DataFrame({"score": SCORES, "max_short_weight": [0.02] + [np.nan] * (N - 1)})
    )
    limits = portcon.Limits(**{**LONG_SHORT, "min_net_exposure": 0.97})
    weights = np.array([-0.03, -0.11, 0.3, 0.3, 0.3, 0.3, 0.2, -0.3])
    found = exposure_violations(weights, universe, limits, EXPOSURE)
    assert any(f.startswith("max_short_weight A0") for f in found)
    assert any(f.startswith("max_short_position A1") for f in found)
    assert any(f.startswith("max_short_position A7") for f in found)
    assert any(f.startswith("leverage_limit: gross 1.8400000000") for f in found)
    assert any(f.startswith("min_net_exposure: net 0.9600000000") for f in found)
    long_only = portcon.Limits(min_score_threshold=0.0)
    found = exposure_violations(weights, universe, long_only, EXPOSURE)
    assert found[0].startswith("max_short_weight A0")  # the column decides for A0
    assert found[1].startswith("long_only A1")
    assert not exposure_violations(np.full(N, 1 / N), universe, long_only, EXPOSURE)


def test_too_little_leverage_is_diagnosed_and_repaired() -> None:
    limits = {**LONG_SHORT, "leverage_limit": 0.9}
    with pytest.raises(InfeasibleError) as caught:
        _construct(limits)
    error = caught.value
    assert "leverage_limit" in error.conflicts
    assert "leverage_limit 90.0% is below |target_allocation| 100.0%" in str(error)
    repair = next(r for r in error.repairs if "leverage_limit" in r)
    assert repair["leverage_limit"] == pytest.approx(1.0, abs=1e-5)
    _construct({**limits, **repair})  # the repair works
    with pytest.raises(InfeasibleError):  # and is minimal: halfway back fails
        _construct({**limits, "leverage_limit": (0.9 + repair["leverage_limit"]) / 2})


def test_a_net_short_target_beyond_the_short_caps_is_repaired_by_max_short_position() -> None:
    limits = {**LONG_SHORT, "target_allocation": -0.9}
    with pytest.raises(InfeasibleError) as caught:
        _construct(limits)
    repair = next(r for r in caught.value.repairs if "max_short_position" in r)
    assert repair["max_short_position"] == pytest.approx(0.9 / N, abs=1e-5)
    portfolio = _construct({**limits, **repair})
    assert _weights(portfolio).sum() == pytest.approx(-0.9, abs=EXPOSURE)


def test_position_counts_count_shorts_and_match_a_brute_force() -> None:
    """max_total_positions = 4 with longs and shorts: SCIP's support equals the best of all
    163 supports of at most 4 names, each solved by the naive program with the rest at 0."""
    limits = {**LONG_SHORT, "max_total_positions": 4, "max_single_position": 0.5}
    relaxed = _weights(_construct({k: v for k, v in limits.items() if k != "max_total_positions"}))
    assert np.sum(np.abs(relaxed) > 1e-6) > 4  # the count really binds
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    assert np.sum(np.abs(weights) > 1e-10) <= 4 and weights.min() < -1e-6
    best, best_weights = np.inf, None
    for size in range(1, 5):
        for support in itertools.combinations(range(N), size):
            w = cp.Variable(N)
            off = np.setdiff1d(np.arange(N), support)
            constraints = [
                cp.sum(w) == 1.0,
                w <= 0.5,
                w >= -0.1,
                cp.norm1(w) <= 1.6,
                w[off] == 0,
            ]
            objective = -MU.to_numpy() @ w + 1.5 * cp.quad_form(w, SIGMA)
            problem = cp.Problem(cp.Minimize(objective), constraints)
            problem.solve(**TIGHT)
            if problem.status == cp.OPTIMAL and problem.value < best:
                best, best_weights = problem.value, np.asarray(w.value)
    assert portfolio.objective == pytest.approx(best, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(weights, best_weights, atol=1e-5)
    _assert_exact_kkt(portfolio)
    reasons = portfolio.explanations["reason"]
    assert any("max_total_positions" in r for r in reasons[np.abs(weights) <= 1e-10])


def test_a_semi_continuous_minimum_is_refused_with_shorts() -> None:
    limits = {**LONG_SHORT, "max_total_positions": 4, "min_position_size": 0.02}
    with pytest.raises(LimitsError, match="cannot apply to a book with short positions"):
        _construct(limits)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("example", "long", "short"),
    [("long_short_130_30.toml", 1.3, 0.3), ("market_neutral.toml", 1.0, 1.0)],
)
def test_shipped_long_short_examples_hold_their_exposures(
    example: str, long: float, short: float
) -> None:
    scores = pd.read_csv(EXAMPLES / "scores.csv", index_col="asset")
    covariance = pd.read_csv(EXAMPLES / "covariance.csv", index_col="asset")
    limits = portcon.Limits.from_toml(EXAMPLES / example)
    portfolio = portcon.construct(scores, limits, covariance=covariance)
    weights = portfolio.weights.to_numpy()
    assert weights[weights > 0].sum() == pytest.approx(long, abs=EXPOSURE)
    assert -weights[weights < 0].sum() == pytest.approx(short, abs=EXPOSURE)
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL
    universe = Universe.from_scores(scores)
    assert not exposure_violations(weights, universe, limits, EXPOSURE)


def test_trades_of_a_long_short_target_from_a_long_book() -> None:
    """A held long that turns short is a reversal, a new short is opened; turnover counts both
    legs (one-way: Σ|change| / 2)."""
    current = np.full(N, 1.0 / N)
    current[1] = 0.0
    scores = pd.DataFrame({"score": SCORES, "current_weight": current})
    portfolio = _construct({**LONG_SHORT, "risk_aversion": 1.0}, scores)
    trades = portfolio.trades
    weights = _weights(portfolio)
    assert weights[0] < 0 and weights[1] < 0  # A0 was long, A1 not held
    assert trades.loc["A0", "action"] == "reverse"
    assert trades.loc["A1", "action"] == "open"
    assert portfolio.turnover == pytest.approx(np.abs(weights - current).sum() / 2, abs=1e-12)


def test_weight_derivatives_through_a_binding_leverage_row() -> None:
    """Where the gross row binds and holds no asset at 0 it is linear in the weights (its
    gradient is sign(w)): d w / d leverage_limit equals central differences. Where its kink
    holds an asset at 0 no derivative is claimed."""
    limits = {**LONG_SHORT, "risk_aversion": 2.5, "leverage_limit": 1.5}
    portfolio = _construct(limits)
    weights = _weights(portfolio)
    assert np.abs(weights).sum() == pytest.approx(1.5, abs=EXPOSURE)
    assert np.abs(weights).min() > 0.01  # no asset at the kink
    derived = portfolio.weight_sensitivity().weights["leverage_limit"].reindex(ASSETS).to_numpy()
    step = 1e-4
    up = _weights(_construct({**limits, "leverage_limit": 1.5 + step}))
    down = _weights(_construct({**limits, "leverage_limit": 1.5 - step}))
    np.testing.assert_allclose(derived, (up - down) / (2 * step), atol=2e-5)
    assert np.abs(derived).max() > 0.1
    kinked_limits = {**limits, "risk_aversion": 2.0, "leverage_limit": 1.6}
    kinked = _construct({**kinked_limits, "max_short_position": 0.15}).weight_sensitivity()
    assert kinked.note.startswith("a kink of leverage_limit")
    assert kinked.weights["leverage_limit"].isna().all()


def test_a_net_range_out_of_reach_is_repaired_by_min_net_exposure() -> None:
    """Eight caps of 10% invest at most 80%: a net floor of 90% cannot be met; lowering
    min_net_exposure to 80% (or raising the cap to 11.25%) repairs it."""
    limits = {**LONG_SHORT, "min_net_exposure": 0.9, "max_single_position": 0.1}
    with pytest.raises(InfeasibleError) as caught:
        _construct(limits)
    repairs = {field: value for repair in caught.value.repairs for field, value in repair.items()}
    assert repairs["min_net_exposure"] == pytest.approx(0.8, abs=1e-5)
    assert repairs["max_single_position"] == pytest.approx(0.9 / N, abs=1e-5)
    for field in ("min_net_exposure", "max_single_position"):
        portfolio = _construct({**limits, field: repairs[field]})
        assert _weights(portfolio).sum() >= min(0.8, repairs["min_net_exposure"]) - EXPOSURE
