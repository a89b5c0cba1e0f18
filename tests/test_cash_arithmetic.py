"""Rollover cash by arithmetic: the sum of the caps equals the invested weight, and each repair
invests the target when construct is run with it, while one step less does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon

SCORES = pd.Series({f"N{i:02d}": 0.5 + 0.01 * i for i in range(30)})
LIMITS = dict(
    sizing_mode="score_weighted",
    max_single_position=0.04,
    max_total_positions=12,
    min_score_threshold=None,
    target_allocation=0.95,
)


def _rollover(limits: dict) -> float:
    return portcon.construct(SCORES, limits).rollover


def test_twelve_names_at_four_percent() -> None:
    portfolio = portcon.construct(SCORES, LIMITS)
    arithmetic = portfolio.cash_arithmetic()
    assert arithmetic is not None
    assert arithmetic.terms == (("12 names × 4.0% (max_single_position)", pytest.approx(0.48)),)
    assert arithmetic.invested == pytest.approx(portfolio.weights.sum(), abs=1e-9)
    assert arithmetic.cash == pytest.approx(0.47, abs=1e-7)
    assert arithmetic.repairs == ({"max_total_positions": 24}, {"max_single_position": 0.0792})
    assert arithmetic.sentence() == (
        "12 names × 4.0% (max_single_position) = 48.0% < 95.0% target: 47.0% to cash; raise "
        "max_total_positions to 24 or raise max_single_position to 7.92%"
    )
    # independent: 24 × 4% ≥ 95% > 23 × 4%, and 12 × 7.92% ≥ 95% > 12 × 7.91%
    for repair, short in (
        ({"max_total_positions": 24}, {"max_total_positions": 23}),
        ({"max_single_position": 0.0792}, {"max_single_position": 0.0791}),
    ):
        assert _rollover({**LIMITS, **repair}) <= 1e-6
        assert _rollover({**LIMITS, **short}) > 1e-4
    assert "cash by arithmetic: 12 names × 4.0%" in portfolio.summary()
    assert portfolio.to_dict()["cash_arithmetic"]["repairs"] == [
        {"max_total_positions": 24},
        {"max_single_position": 0.0792},
    ]


def test_the_shipped_example_sums_its_caps_and_each_repair_invests() -> None:
    scores = pd.read_csv("examples/scores.csv", index_col="asset")
    limits = portcon.Limits.from_toml("examples/limits.toml")
    portfolio = portcon.construct(scores, limits)
    arithmetic = portfolio.cash_arithmetic()
    assert arithmetic is not None
    assert arithmetic.unexplained == pytest.approx(0.0, abs=1e-7)
    assert sum(weight for _, weight in arithmetic.terms) == pytest.approx(
        portfolio.weights.sum(), abs=1e-7
    )
    assert arithmetic.repairs
    for repair in arithmetic.repairs:
        for name, value in repair.items():
            assert getattr(limits, name) != value  # never the current value
        assert portcon.construct(scores, limits.replace(**repair)).rollover <= 1e-6


def test_no_rollover_no_arithmetic() -> None:
    portfolio = portcon.construct(SCORES, {**LIMITS, "max_total_positions": 30})
    assert portfolio.cash_arithmetic() is None
    assert portfolio.to_dict()["cash_arithmetic"] is None


def test_a_volatility_cap_falls_back_to_the_diagnosis() -> None:
    rng = np.random.default_rng(3)
    names = [f"A{i}" for i in range(6)]
    loadings = rng.normal(size=(6, 2)) * 0.1
    covariance = pd.DataFrame(
        loadings @ loadings.T + np.diag(rng.uniform(0.01, 0.04, 6)), index=names, columns=names
    )
    scores = pd.Series(rng.uniform(0.6, 1.0, 6), index=names)
    limits = dict(
        sizing_mode="score_weighted", min_score_threshold=None, max_portfolio_volatility=0.06
    )
    portfolio = portcon.construct(scores, limits, covariance=covariance)
    arithmetic = portfolio.cash_arithmetic()
    assert arithmetic is not None and portfolio.rollover > 1e-4
    assert arithmetic.unexplained > 0  # no cap sum explains a volatility limit
    assert "max_portfolio_volatility binding" in arithmetic.sentence()
    assert arithmetic.repairs
    for repair in arithmetic.repairs:
        assert (
            portcon.construct(scores, {**limits, **repair}, covariance=covariance).rollover <= 1e-6
        )
