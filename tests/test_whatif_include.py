"""Scenarios with forced inclusions and another current portfolio.

Forced inclusions are checked against an independent cvxpy program with the floors written
out (w_i ≥ ℓ), and against one fresh ``construct`` on the pinned inputs the scenario reports;
another current portfolio against ``construct(current=...)``.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.scenarios import ScenarioError
from portcon.scenarios.include import INCLUDE_FLOOR, with_inclusions
from portcon.scenarios.inputs import Inputs, shocked
from portcon.scenarios.model import Scenario
from portcon.scenarios.run import construct_on
from tests.conftest import random_universe
from tests.test_whatif import dense, market

WEIGHTS = 1e-7  # scenario vs a fresh construct on the same inputs
REFERENCE = 2e-6  # portcon vs an independent cvxpy solve (two solvers' accuracy)


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, dict, dict]:
    frame = random_universe(7, n=12, buckets=3, low=0.5)
    data = market(frame, seed=7)
    limits = dict(
        sizing_mode="mean_variance",
        risk_aversion=3.0,
        max_single_position=0.3,
        min_score_threshold=None,
        target_allocation=1.0,
    )
    return frame, data, limits


def _reference(frame: pd.DataFrame, data: dict, limits: dict, floors: dict) -> pd.Series:
    """−μᵀw + γ/2 wᵀΣw, Σw = 1, 0 ≤ w ≤ cap, w_i ≥ ℓ_i: written here, solved by Clarabel."""
    sigma = dense(data["factor_model"]).loc[frame.index, frame.index].to_numpy()
    mu = data["expected_returns"].loc[frame.index].to_numpy()
    w = cp.Variable(len(frame))
    lower = np.array([floors.get(a, 0.0) for a in frame.index])
    objective = -mu @ w + limits["risk_aversion"] / 2 * cp.quad_form(w, cp.psd_wrap(sigma))
    rows = [cp.sum(w) == 1, w >= lower, w <= limits["max_single_position"]]
    tight = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, tol_ktratio=1e-10)
    cp.Problem(cp.Minimize(objective), rows).solve(solver="CLARABEL", **tight)
    return pd.Series(w.value, index=frame.index)


def test_unheld_assets_included_at_their_floor_match_the_written_out_program(book) -> None:
    frame, data, limits = book
    base = portcon.construct(frame, limits, **data)
    unheld = list(base.weights[base.weights < 1e-9].index[:2])
    assert len(unheld) == 2, "the book must leave assets out"
    scenario = Scenario(name="must hold", include=tuple(unheld))
    report = portcon.whatif(frame, limits, [scenario], **data)
    assert report.failures.empty, report.failures.to_string()
    reference = _reference(frame, data, limits, dict.fromkeys(unheld, INCLUDE_FLOOR))
    np.testing.assert_allclose(report.weights["must hold"], reference, atol=REFERENCE)
    assert (report.weights.loc[unheld, "must hold"] >= INCLUDE_FLOOR - 1e-12).all()


def test_an_included_scenario_is_one_construct_on_the_pinned_inputs(book) -> None:
    frame, data, limits = book
    unheld = portcon.construct(frame, limits, **data).weights.nsmallest(3).index
    scenario = Scenario(name="s", include=tuple(unheld), limits={"risk_aversion": 5.0})
    report = portcon.whatif(frame, limits, [scenario], **data)
    inputs = shocked(Inputs.from_arguments(frame, limits, data), scenario)
    pinned, _ = with_inclusions(inputs, scenario.include, construct_on)
    fresh = portcon.construct(pinned.scores, pinned.limits, **pinned.market)
    np.testing.assert_allclose(report.weights["s"], fresh.weights, atol=WEIGHTS, rtol=0)
    held_at = pinned.scores["fixed_weight"].dropna()
    assert set(held_at.index) <= set(unheld) and (held_at == INCLUDE_FLOOR).all()


def test_a_floor_that_does_not_bind_changes_nothing(book) -> None:
    frame, data, limits = book
    base = portcon.construct(frame, limits, **data)
    held = base.weights.idxmax()
    report = portcon.whatif(frame, limits, [Scenario(name="s", include=(held,))], **data)
    np.testing.assert_allclose(report.weights["s"], base.weights, atol=WEIGHTS, rtol=0)


def test_an_asset_below_the_threshold_is_held_at_min_position_size() -> None:
    frame = random_universe(8, n=10, buckets=0, low=0.3)
    limits = dict(sizing_mode="score_weighted", min_score_threshold=0.6, min_position_size=0.02)
    low = frame["score"].idxmin()
    assert frame.at[low, "score"] < 0.6
    report = portcon.whatif(frame, limits, [Scenario(name="s", include=(low,))])
    assert report.weights.at[low, "base"] == 0.0
    assert report.weights.at[low, "s"] == pytest.approx(0.02, abs=1e-12)


def test_an_included_asset_survives_a_position_count() -> None:
    frame = random_universe(9, n=12, buckets=0, low=0.6)
    limits = dict(sizing_mode="score_weighted", max_total_positions=4, min_position_size=0.05)
    last = frame["score"].idxmin()
    report = portcon.whatif(frame, limits, [Scenario(name="s", include=(last,))])
    assert report.weights.at[last, "base"] == 0.0
    assert report.weights.at[last, "s"] >= 0.05 - 1e-9
    assert (report.weights["s"] > 1e-9).sum() <= 4


def test_another_current_portfolio_equals_construct_with_that_book(book) -> None:
    frame, data, limits = book
    limits = dict(limits, transaction_cost_bps=25.0, cost_aversion=1.0)
    held = {str(a): 0.1 for a in frame.index[:8]}
    report = portcon.whatif(frame, limits, [Scenario(name="book", current=held)], **data)
    current = pd.Series(held).reindex(frame.index).fillna(0.0)
    fresh = portcon.construct(frame, limits, current=current, **data)
    np.testing.assert_allclose(report.weights["book"], fresh.weights, atol=WEIGHTS, rtol=0)
    portfolio = report.portfolio("book")
    assert portfolio.turnover == pytest.approx(fresh.turnover, abs=WEIGHTS)
    assert portfolio.trading_cost == pytest.approx(fresh.trading_cost, abs=WEIGHTS)
    assert portfolio.turnover > 0.01  # the costs keep some of the book, the rest trades


def test_bad_inclusions_and_books_fail_in_their_row(book) -> None:
    frame, data, limits = book
    scenarios = [
        Scenario(name="unknown include", include=("NOPE",)),
        Scenario(name="unknown current", current={"NOPE": 0.1}),
    ]
    report = portcon.whatif(frame, limits, scenarios, **data)
    assert set(report.failures["scenario"]) == {"unknown include", "unknown current"}
    assert report.failures["message"].str.contains("NOPE").all()
    with pytest.raises(ScenarioError, match="both included and excluded"):
        Scenario.parse({"name": "x", "include": ["A"], "exclude": ["A"]})
