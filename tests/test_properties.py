"""Property tests: any universe and limits give a portfolio within its limits, or a PortconError."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portcon
from portcon.report.check import violations
from portcon.universe import Universe

caps = st.one_of(st.none(), st.floats(0.01, 1.0))


@st.composite
def universes(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    scores = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    buckets = draw(st.lists(st.sampled_from("ABC"), min_size=n, max_size=n))
    sectors = draw(st.lists(st.sampled_from("xyzw"), min_size=n, max_size=n))
    volatility = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    return pd.DataFrame(
        {"score": scores, "bucket": buckets, "sector": sectors, "volatility": volatility},
        index=[f"a{i}" for i in range(n)],
    )


SIZED_BY_RISK = (
    "min_variance",
    "mean_variance",
    "kelly",
    "kelly_exact",
    "risk_parity",
    "max_sharpe",
)


@st.composite
def limit_sets(draw) -> dict:
    mode = draw(st.sampled_from(list(portcon.SizingMode)))
    fields = dict(
        sizing_mode=mode,
        target_allocation=draw(st.floats(0.05, 1.0)),
        max_single_position=draw(caps),
        min_score_threshold=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
        max_bucket_allocation=draw(caps),
        max_sector_allocation=draw(caps),
    )
    if mode not in SIZED_BY_RISK:  # the risk modes refuse a residual strategy
        fields["residual_strategy"] = draw(st.sampled_from(list(portcon.ResidualStrategy)))
        fields["rollover_threshold"] = draw(st.one_of(st.none(), st.floats(0.0, 0.05)))
    if mode in ("tiered", "adaptive", "equal_weight"):
        fields["base_position_size"] = draw(st.one_of(st.none(), st.floats(0.005, 0.5)))
    return fields


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=universes(), fields=limit_sets())
def test_every_answer_satisfies_every_limit(frame: pd.DataFrame, fields: dict) -> None:
    try:
        portfolio = portcon.construct(frame, fields)
    except portcon.PortconError:
        return
    weights = portfolio.weights.to_numpy()
    assert violations(weights, Universe.from_scores(frame), portfolio.limits) == []
    assert np.isclose(portfolio.cash, 1 - weights.sum(), atol=1e-12)
    residual = portfolio.explanations.get("residual")
    if residual is not None and residual.notna().any():
        assert residual.abs().max() < 1e-6


RISK_MODES = [
    "min_variance",
    "mean_variance",
    "kelly",
    "risk_parity",
    "max_sharpe",
    "score_weighted",
]


@st.composite
def risk_problems(draw):
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    assets = [f"r{i}" for i in range(n)]
    loadings = pd.DataFrame(rng.normal(0, 0.2, (n, 2)), index=assets, columns=["f1", "f2"])
    factor = pd.DataFrame(
        np.eye(2) * draw(st.floats(0.01, 1.0)), index=["f1", "f2"], columns=["f1", "f2"]
    )
    specific = pd.Series(rng.uniform(0.0, 0.05, n), index=assets)
    model = portcon.FactorModel(
        loadings=loadings, factor_covariance=factor, specific_variance=specific
    )
    mu = pd.Series(rng.normal(0.05, 0.05, n), index=assets)
    frame = pd.DataFrame(
        {"score": rng.uniform(0.5, 1, n), "bucket": rng.choice(["A", "B"], n)}, index=assets
    )
    fields = dict(
        sizing_mode=draw(st.sampled_from(RISK_MODES)),
        target_allocation=draw(st.floats(0.1, 1.0)),
        max_single_position=draw(caps),
        min_score_threshold=None,
        max_bucket_allocation=draw(caps),
        max_portfolio_volatility=draw(st.one_of(st.none(), st.floats(0.01, 0.5))),
        min_expected_return=draw(st.one_of(st.none(), st.floats(-0.05, 0.1))),
    )
    return frame, fields, dict(factor_model=model, expected_returns=mu)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=risk_problems())
def test_risk_answers_satisfy_every_limit(problem) -> None:
    frame, fields, market = problem
    try:
        portfolio = portcon.construct(frame, fields, **market)
    except portcon.PortconError:
        return
    from portcon.market import prepare_market_data

    universe = Universe.from_scores(frame)
    data = prepare_market_data(universe, portfolio.limits, **market)
    weights = portfolio.weights.to_numpy()
    assert violations(weights, universe, portfolio.limits, market=data) == []
    residual = portfolio.explanations["residual"].dropna()
    if len(residual):
        assert residual.abs().max() < 1e-6


@st.composite
def count_problems(draw):
    n = draw(st.integers(2, 9))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.3, 1.0, n),
            "bucket": rng.choice(["A", "B", "C"], n),
            "current_weight": np.where(rng.random(n) < 0.3, 0.05, 0.0),
        },
        index=[f"k{i}" for i in range(n)],
    )
    factors = rng.normal(size=(n, 2))
    covariance = factors @ factors.T + np.diag(rng.uniform(0.1, 1, n))
    scale = np.sqrt(np.diag(covariance))
    correlation = pd.DataFrame(covariance / np.outer(scale, scale), frame.index, frame.index)
    small = st.one_of(st.none(), st.integers(1, 5))
    fields = dict(
        sizing_mode=draw(st.sampled_from(["score_weighted", "equal_weight", "adaptive"])),
        min_score_threshold=None,
        max_single_position=draw(st.floats(0.1, 1.0)),
        max_total_positions=draw(small),
        max_positions_per_bucket=draw(small),
        min_buckets_represented=draw(st.one_of(st.none(), st.integers(1, 3))),
        min_position_size=draw(st.one_of(st.none(), st.floats(0.01, 0.2))),
        correlation_limit=draw(st.one_of(st.none(), st.floats(0.0, 0.9))),
        allow_bucket_overflow=draw(st.booleans()),
        allow_cash_rollover=draw(st.booleans()),
        mip_method=draw(st.sampled_from(["auto", "heuristic"])),
    )
    return frame, fields, correlation


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=count_problems())
def test_count_answers_satisfy_every_limit(problem) -> None:
    frame, fields, correlation = problem
    try:
        portfolio = portcon.construct(frame, fields, correlation=correlation)
    except portcon.PortconError:
        return
    weights = portfolio.weights.to_numpy()
    universe = Universe.from_scores(frame)
    found = violations(weights, universe, portfolio.limits, correlation=correlation.to_numpy())
    assert found == []
    assert portfolio.path in ("convex", "mixed_integer", "heuristic")
