"""Cash and its reason: chosen by the objective, left by the limits, or kept by the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from tests.test_risk import OPEN, _factor_model, _scores

CASH_TOLERANCE = 1e-7


def test_kelly_cash_is_chosen_by_the_objective_not_left_by_the_limits() -> None:
    model = _factor_model(8, 1)
    unconstrained = np.linspace(0.02, 0.1, 8)  # sums to 0.48: Kelly keeps the rest in cash
    mu = pd.Series(model.covariance().to_numpy() @ unconstrained / 0.5, index=model.assets)
    limits = dict(OPEN, sizing_mode="kelly", kelly_fraction=0.5, max_single_position=0.08)
    portfolio = portcon.construct(_scores(model), limits, factor_model=model, expected_returns=mu)
    assert portfolio.cash > 0.2
    assert portfolio.rollover == 0.0
    assert "chosen by the objective" in portfolio.cash_reason
    assert "binding limit" not in portfolio.cash_reason


def test_cash_the_limits_cannot_absorb_names_the_binding_rules() -> None:
    frame = pd.DataFrame({"score": [0.9, 0.8, 0.7]}, index=["A", "B", "C"])
    portfolio = portcon.construct(frame, {"max_single_position": 0.2})
    assert portfolio.rollover == pytest.approx(0.35, abs=1e-9)
    assert "the limits absorb 60.0%" in portfolio.cash_reason
    assert "max_single_position (3 rows)" in portfolio.cash_reason


def test_cash_kept_by_the_target_alone_has_no_rollover_reason() -> None:
    frame = pd.DataFrame({"score": [0.9, 0.8, 0.7]}, index=["A", "B", "C"])
    portfolio = portcon.construct(frame, {"max_single_position": 0.5, "target_allocation": 0.9})
    assert portfolio.rollover == pytest.approx(0.0, abs=CASH_TOLERANCE)
    assert portfolio.cash_reason == ""
    assert portfolio.to_frame().iloc[-1]["reason"] == "10.0% by target_allocation"


def _minimum_volatility(frame, model, mu) -> float:
    base = portcon.construct(
        frame, dict(OPEN, sizing_mode="min_variance"), factor_model=model, expected_returns=mu
    )
    w = base.weights.to_numpy()
    return float(np.sqrt(w @ model.covariance().to_numpy() @ w))


@pytest.mark.parametrize("margin", [1.0001, 1.001, 1.01])
def test_rollover_never_leaves_cash_the_limits_could_absorb(margin: float) -> None:
    """A volatility cap just above the least attainable volatility still invests the target."""
    model = _factor_model(10, 4)
    frame = _scores(model)
    mu = pd.Series(np.linspace(0.02, 0.15, 10), index=model.assets)
    cap = margin * _minimum_volatility(frame, model, mu)
    limits = dict(OPEN, sizing_mode="mean_variance", risk_aversion=2.0)
    limits["max_portfolio_volatility"] = cap
    rolled = portcon.construct(frame, limits, factor_model=model, expected_returns=mu)
    strict = portcon.construct(
        frame,
        dict(limits, allow_cash_rollover=False),
        factor_model=model,
        expected_returns=mu,
    )
    assert strict.cash == pytest.approx(0.0, abs=CASH_TOLERANCE)
    assert rolled.rollover == pytest.approx(0.0, abs=CASH_TOLERANCE)
    np.testing.assert_allclose(rolled.weights, strict.weights, atol=1e-6)
