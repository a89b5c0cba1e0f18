"""Portfolio.attribution(): the weights as a reference portfolio plus one portfolio per binding
constraint, against references written here.

- A small mean-variance book with a position cap and a bucket cap: the active set is read
  from a plain cvxpy statement of the problem, the KKT system of that active set is solved
  with numpy, and the decomposition w = H⁻¹μ − Σ H⁻¹ a_k λ_k (and its budget-only form) is
  built from those numbers alone.
- Closed forms: score shares × target with one binding cap.
- On books of every kind: the pieces add up to the weights, expected return, variance,
  volatility and objective add up to the portfolio's, and the residual piece is small.
"""

from __future__ import annotations

import json

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.errors import InputError
from portcon.limits import read_limits_file
from tests.conftest import random_universe

SUM = 1e-12  # pieces add up to the weights by construction
RESIDUAL = 1e-8  # the solver's stationarity residual seen through H⁻¹ (KKT residual × |H⁻¹|)
REFERENCE = 1e-8  # against the numpy KKT solution (cvxpy only picks the active set)
ACTIVE = 1e-6
RESIDUAL_LABEL = "residual (KKT round-off)"

ASSETS = [f"S{i}" for i in range(6)]
BUCKETS = ["A", "A", "A", "B", "B", "B"]


def _covariance() -> np.ndarray:
    rng = np.random.default_rng(7)
    root = rng.normal(0.0, 0.12, (6, 6))
    return root @ root.T / 6 + np.diag(rng.uniform(0.01, 0.03, 6))


MU = np.array([0.12, 0.10, 0.09, 0.05, 0.04, 0.03])
GAMMA = 3.0
CAP, BUCKET_CAP = 0.3, 0.45


@pytest.fixture(scope="module")
def mean_variance() -> portcon.Portfolio:
    scores = pd.DataFrame({"score": 0.9, "bucket": BUCKETS}, index=ASSETS)
    covariance = _covariance()
    return portcon.construct(
        scores,
        {
            "sizing_mode": "mean_variance",
            "risk_aversion": GAMMA,
            "target_allocation": 1.0,
            "max_single_position": CAP,
            "bucket_caps": {"A": BUCKET_CAP},
            "min_score_threshold": None,
        },
        covariance=pd.DataFrame(covariance, index=ASSETS, columns=ASSETS),
        expected_returns=pd.Series(MU, index=ASSETS),
    )


def _naive_kkt() -> tuple[np.ndarray, dict[str, tuple[np.ndarray, float]]]:
    """The weights and, per active row (named as portcon names it), its gradient a and
    multiplier λ with −μ + γΣw + Σ a λ = 0: active set from plain cvxpy, numbers from numpy."""
    sigma = _covariance()
    weights = cp.Variable(6)
    in_a = np.array([b == "A" for b in BUCKETS], dtype=float)
    rows: dict[str, tuple[np.ndarray, float, cp.Constraint | None]] = {
        "target_allocation": (np.ones(6), 1.0, None),
        "bucket_caps[A]": (in_a, BUCKET_CAP, None),
    }
    for i, asset in enumerate(ASSETS):
        rows[f"max_single_position[{asset}]"] = (np.eye(6)[i], CAP, None)
        rows[f"long_only[{asset}]"] = (-np.eye(6)[i], 0.0, None)
    constraints = [cp.sum(weights) == 1.0]
    constraints += [
        a @ weights <= b for name, (a, b, _) in rows.items() if name != "target_allocation"
    ]
    objective = -MU @ weights + GAMMA / 2 * cp.quad_form(weights, sigma)
    cp.Problem(cp.Minimize(objective), constraints).solve()
    active = {
        name: (a, b)
        for name, (a, b, _) in rows.items()
        if name == "target_allocation" or b - a @ weights.value <= ACTIVE
    }
    gradients = np.array([a for a, _ in active.values()])
    bounds = np.array([b for _, b in active.values()])
    size = len(active)
    system = np.block([[GAMMA * sigma, gradients.T], [gradients, np.zeros((size, size))]])
    solved = np.linalg.solve(system, np.concatenate([MU, bounds]))
    multipliers = solved[6:]
    return solved[:6], {
        name: (a, float(m)) for (name, (a, _)), m in zip(active.items(), multipliers, strict=True)
    }


def test_mean_variance_matches_the_numpy_kkt_decomposition(mean_variance):
    weights, rows = _naive_kkt()
    hessian = GAMMA * _covariance()
    assert {"max_single_position[S0]", "bucket_caps[A]"} <= set(rows)  # both limits bind
    np.testing.assert_allclose(mean_variance.weights.to_numpy(), weights, atol=REFERENCE)
    attribution = mean_variance.attribution(reference="unconstrained")
    holdings = attribution.holdings
    np.testing.assert_allclose(
        holdings["unconstrained"].to_numpy(), np.linalg.solve(hessian, MU), atol=REFERENCE
    )
    priced = {name for name, (_, m) in rows.items() if abs(m) > 1e-9}
    shown = set(holdings.columns) - {"unconstrained", RESIDUAL_LABEL}
    assert shown == priced
    for name in priced:
        a, multiplier = rows[name]
        expected = -np.linalg.solve(hessian, a * multiplier)
        np.testing.assert_allclose(
            holdings[name].to_numpy(), expected, atol=REFERENCE, err_msg=name
        )


def test_budget_form_matches_the_reduced_hessian_decomposition(mean_variance):
    _, rows = _naive_kkt()
    hessian = GAMMA * _covariance()
    inverse = np.linalg.inv(hessian)
    ones = np.ones(6)
    projected = inverse - np.outer(inverse @ ones, inverse @ ones) / (ones @ inverse @ ones)
    system = np.block([[hessian, ones[:, None]], [ones[None, :], np.zeros((1, 1))]])
    budget_only = np.linalg.solve(system, np.concatenate([MU, [1.0]]))[:6]
    attribution = mean_variance.attribution(reference="budget")
    holdings = attribution.holdings
    np.testing.assert_allclose(holdings["budget only"].to_numpy(), budget_only, atol=REFERENCE)
    assert "target_allocation" not in holdings  # the budget is in the reference
    for name, (a, multiplier) in rows.items():
        if name == "target_allocation" or abs(multiplier) <= 1e-9:
            continue
        expected = -projected @ (a * multiplier)
        np.testing.assert_allclose(
            holdings[name].to_numpy(), expected, atol=REFERENCE, err_msg=name
        )
        assert abs(holdings[name].sum()) <= SUM  # the budget-only form's pieces are self-financing


def test_mean_variance_utility_return_and_risk_split(mean_variance):
    sigma, weights = _covariance(), mean_variance.weights.to_numpy()
    table = mean_variance.attribution(reference="unconstrained").table
    unconstrained = np.linalg.solve(GAMMA * sigma, MU)

    def negated_utility(w: np.ndarray) -> float:
        return float(-MU @ w + GAMMA / 2 * w @ sigma @ w)

    assert table.loc["unconstrained", "objective"] == pytest.approx(
        negated_utility(unconstrained), abs=1e-10
    )
    assert table["objective"].sum() == pytest.approx(negated_utility(weights), abs=1e-12)
    costs = table.loc[table["kind"] == "constraint", "objective"].sum()
    assert costs == pytest.approx(
        negated_utility(weights) - negated_utility(unconstrained), abs=1e-10
    )
    assert table["expected_return"].sum() == pytest.approx(MU @ weights, abs=1e-12)
    assert table["variance"].sum() == pytest.approx(weights @ sigma @ weights, abs=1e-12)
    volatility = np.sqrt(weights @ sigma @ weights)
    assert table["volatility"].sum() == pytest.approx(volatility, abs=1e-12)
    contributions = table.loc["max_single_position[S0]"]
    holdings = mean_variance.attribution(reference="unconstrained").holdings[
        "max_single_position[S0]"
    ]
    assert contributions["expected_return"] == pytest.approx(MU @ holdings, abs=1e-14)
    assert contributions["variance"] == pytest.approx(holdings @ sigma @ weights, abs=1e-14)


def test_one_binding_cap_is_the_move_from_the_score_shares():
    """Score-weighted with only max_single_position binding: the budget-only reference is the
    score shares × target (closed form) and the cap's piece is w* − that, exactly."""
    scores = pd.Series(np.linspace(0.6, 0.95, 10), index=[f"A{i}" for i in range(10)])
    limits = {
        "sizing_mode": "score_weighted",
        "max_single_position": 0.11,
        "min_score_threshold": None,
    }
    portfolio = portcon.construct(scores, limits)
    attribution = portfolio.attribution()
    shares = scores / scores.sum() * 0.95
    assert attribution.reference == "budget"
    np.testing.assert_allclose(attribution.holdings["budget only"], shares, atol=1e-12)
    capped = [c for c in attribution.holdings if c.startswith("max_single_position[")]
    assert capped, "the cap binds"
    pieces = attribution.holdings[capped].sum(axis=1)
    np.testing.assert_allclose(pieces, portfolio.weights - shares, atol=1e-9)
    limit_level = portfolio.attribution(level="limit")
    np.testing.assert_allclose(limit_level.holdings["max_single_position"], pieces, atol=SUM)
    assert limit_level.table.loc["max_single_position", "price"] == pytest.approx(
        portfolio.sensitivity().loc["max_single_position", "shadow_price"], rel=1e-9
    )


def _model(n: int, seed: int) -> portcon.FactorModel:
    rng = np.random.default_rng(seed)
    assets = [f"A{i:03d}" for i in range(n)]
    loadings = pd.DataFrame(rng.normal(0.0, 0.2, (n, 2)), index=assets, columns=["f0", "f1"])
    factor = pd.DataFrame([[0.05, 0.01], [0.01, 0.03]], index=["f0", "f1"], columns=["f0", "f1"])
    specific = pd.Series(rng.uniform(0.01, 0.06, n), index=assets)
    return portcon.FactorModel(loadings, factor, specific)


def _books() -> dict[str, tuple[object, dict, dict]]:
    model = _model(12, 5)
    mu = pd.Series(np.linspace(0.02, 0.14, 12), index=model.assets)
    plain = random_universe(1, n=12, buckets=3, low=0.6).assign(score=np.linspace(0.6, 0.95, 12))
    risk = {"factor_model": model}
    market = {"factor_model": model, "expected_returns": mu}
    rng = np.random.default_rng(3)
    history = pd.DataFrame(rng.normal(0.0008, 0.012, (400, 12)), columns=model.assets)
    off = {"min_score_threshold": None}
    return {
        "score caps": (
            plain,
            {
                "sizing_mode": "score_weighted",
                "max_single_position": 0.09,
                "max_bucket_allocation": 0.4,
                **off,
            },
            {},
        ),
        "rollover": (
            plain,
            {"sizing_mode": "equal_weight", "max_single_position": 0.07, **off},
            {},
        ),
        "min variance": (
            plain,
            {"sizing_mode": "min_variance", "max_single_position": 0.15, **off},
            risk,
        ),
        "volatility cap": (
            plain,
            {
                "sizing_mode": "mean_variance",
                "risk_aversion": 2.0,
                "max_single_position": 0.25,
                "max_portfolio_volatility": 0.08,
                **off,
            },
            market,
        ),
        "kelly": (plain, {"sizing_mode": "kelly", "max_single_position": 0.2, **off}, market),
        "kelly exact": (
            plain,
            {"sizing_mode": "kelly_exact", "max_single_position": 0.2, **off},
            {"returns": history},
        ),
        "risk parity": (
            plain,
            {"sizing_mode": "risk_parity", "max_single_position": 0.1, **off},
            risk,
        ),
        "max sharpe": (
            plain,
            {"sizing_mode": "max_sharpe", "max_single_position": 0.2, **off},
            market,
        ),
        "tiered top slice": (
            plain,
            {"sizing_mode": "tiered", "max_single_position": 0.1, **off},
            {},
        ),
        "trading costs": (
            plain.assign(current_weight=0.05),
            {
                "sizing_mode": "score_weighted",
                "max_single_position": 0.12,
                "cost_aversion": 1.0,
                "transaction_cost_bps": 50,
                **off,
            },
            {},
        ),
    }


BOOKS = _books()


@pytest.mark.parametrize("name", list(BOOKS))
def test_pieces_add_up_on_every_kind_of_book(name):
    scores, limits, market = BOOKS[name]
    portfolio = portcon.construct(scores, limits, **market)
    _check_sums(portfolio)


def _check_sums(portfolio: portcon.Portfolio) -> None:
    weights = portfolio.weights
    for level in ("row", "limit"):
        attribution = portfolio.attribution(level=level)
        assert attribution.available, attribution.note
        holdings, table = attribution.holdings, attribution.table
        np.testing.assert_allclose(holdings.sum(axis=1), weights, atol=SUM, rtol=0)
        assert float(holdings[RESIDUAL_LABEL].abs().max()) <= RESIDUAL
        assert list(table.index) == list(holdings.columns)
        metrics = portfolio.metrics
        if metrics.expected_return is not None:
            assert table["expected_return"].sum() == pytest.approx(metrics.expected_return, abs=SUM)
        if metrics.volatility is not None:
            assert table["volatility"].sum() == pytest.approx(metrics.volatility, abs=SUM)
            assert table["variance"].sum() == pytest.approx(metrics.volatility**2, abs=SUM)
        for category, row in attribution.by_category().iterrows():
            assert row["added"] == pytest.approx(
                table.loc[table["category"] == category, "added"].sum()
            )
    rows = portfolio.attribution(level="row").holdings_by_category()
    limits = portfolio.attribution(level="limit").holdings_by_category()
    np.testing.assert_allclose(rows[limits.columns], limits, atol=SUM)


@pytest.mark.parametrize("name", ["score caps", "min variance", "volatility cap", "kelly"])
def test_objective_column_adds_up_to_the_solved_objective(name):
    scores, limits, market = BOOKS[name]
    portfolio = portcon.construct(scores, limits, **market)
    assert portfolio.rollover == 0
    table = portfolio.attribution().table
    assert table["objective"].sum() == pytest.approx(portfolio.objective, rel=1e-9, abs=1e-12)


def test_trading_costs_are_a_piece_of_their_own():
    """Costs hold names near a spread-out current book: their pull is a piece, and the
    objective column splits the sizing objective without them."""
    scores, limits, market = BOOKS["trading costs"]
    current = scores.assign(current_weight=np.linspace(0.05, 0.11, 12))
    portfolio = portcon.construct(current, {**limits, "cost_aversion": 20.0}, **market)
    attribution = portfolio.attribution()
    costs = attribution.table.loc["trading costs"]
    assert costs["kind"] == "objective term" and costs["category"] == "trading costs"
    assert costs["added"] > 1e-3 and costs["objective"] > 0
    _check_sums(portfolio)


@pytest.fixture(scope="module")
def example() -> portcon.Portfolio:
    scores = pd.read_csv("examples/scores.csv", index_col="asset")
    return portcon.construct(scores, read_limits_file("examples/limits.toml"))


def test_shipped_example_counts_and_rollover(example):
    """The shipped example: a chosen support (count rules left names out) and rollover."""
    assert example.path != "convex" and example.rollover > 0
    _check_sums(example)
    attribution = example.attribution()
    table = attribution.table
    assert "chosen support" in attribution.note and "rollover" in attribution.note
    counts = table[table["category"] == "counts"]
    assert len(counts) > 0
    left_out = set(counts["subject"])
    assert not {f"long_only[{asset}]" for asset in left_out} & set(table.index)
    constraints = example.constraints
    binding = constraints[constraints["binding"]]
    for label, row in table[table["kind"] == "constraint"].iterrows():
        sense = binding.loc[
            (binding["rule"] == row["rule"]) & (binding["subject"] == row["subject"]), "sense"
        ]
        if len(sense) and sense.iloc[0] == "<=":
            assert row["price"] >= -1e-9, label  # the prices chosen keep their signs
    used = float(np.sum(table["price"].dropna() ** 2))
    solver = float(np.sum(binding["shadow_price"].to_numpy() ** 2))
    assert used < solver  # the smallest valid prices, not the cash penalty's


def test_nothing_eligible_gives_an_empty_attribution():
    scores = pd.Series([0.2, 0.3], index=["X", "Y"])
    portfolio = portcon.construct(scores, {"min_score_threshold": 0.9})
    attribution = portfolio.attribution()
    assert not attribution.available and "nothing was solved" in attribution.note
    assert attribution.holdings.shape == (2, 0)
    assert "Decision summary" in portfolio.summary()


def test_bad_level_and_reference_are_named(mean_variance):
    assert mean_variance.attribution().reference == "budget"
    with pytest.raises(InputError, match="level must be one of row, limit"):
        mean_variance.attribution(level="asset")
    with pytest.raises(InputError, match="reference must be one of budget, unconstrained"):
        mean_variance.attribution(reference="benchmark")


def test_json_export_holds_the_attribution_and_summary(example):
    exported = json.loads(json.dumps(example.to_dict(), allow_nan=False))
    attribution = exported["attribution"]
    assert attribution["level"] == "limit" and attribution["reference"] == "budget"
    total = {}
    for piece in attribution["holdings"].values():
        for asset, value in piece.items():
            total[asset] = total.get(asset, 0.0) + value
    for asset, weight in example.weights.items():
        assert total.get(asset, 0.0) == pytest.approx(weight, abs=1e-11)
    assert exported["decision_summary"]["text"] == example.summary()


def test_accessor_returns_copies(mean_variance):
    first = mean_variance.attribution()
    first.holdings.iloc[:, :] = 0.0
    assert mean_variance.attribution().holdings.abs().to_numpy().sum() > 0


def test_whatif_report_shows_each_runs_attribution_by_category(tmp_path):
    pytest.importorskip("matplotlib")
    scores, limits, market = BOOKS["score caps"]
    tighter = portcon.Scenario(name="tighter", limits={"max_single_position": 0.085})
    report = portcon.whatif(scores, limits, [tighter], **market)
    table = report.attribution
    assert set(table["scenario"]) == {"base", "tighter"}
    for name in ("base", "tighter"):
        rows = table[table["scenario"] == name]
        portfolio = report.portfolio(name)
        expected = portfolio.attribution(level="limit").by_category()
        np.testing.assert_allclose(rows["objective"], expected["objective"], rtol=1e-12)
        assert rows["objective"].sum() == pytest.approx(portfolio.objective, rel=1e-9)
    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "What the limits cost" in page and "position caps" in page


@pytest.mark.parametrize("name", ["attribution_result.Attribution", "summary.DecisionSummary"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    module, _, attribute = name.partition(".")
    value = getattr(importlib.import_module(f"portcon.report.{module}"), attribute)
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(value, name) if t.examples]
    assert tests
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        assert runner.run(test).failed == 0
