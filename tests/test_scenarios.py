"""The rebalancer's own test scenarios, stated as portcon problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.report.check import violations
from portcon.universe import Universe
from tests.naive import cap_and_renormalise

TOLERANCE = 1e-6


def test_three_positions_at_95_percent_with_15_percent_cap_roll_to_cash() -> None:
    scores = pd.Series({"SPY": 0.92, "QQQ": 0.85, "IWM": 0.71})
    portfolio = portcon.construct(scores, dict(sizing_mode="adaptive", max_single_position=0.15))
    np.testing.assert_allclose(portfolio.weights.to_numpy(), [0.15, 0.15, 0.15], atol=TOLERANCE)
    assert portfolio.rollover == pytest.approx(0.50, abs=TOLERANCE)
    assert portfolio.cash == pytest.approx(0.55, abs=TOLERANCE)
    assert "rolled to cash" in portfolio.cash_reason
    assert "max_single_position" in portfolio.cash_reason
    assert all(
        reason.startswith("capped at 15.0% by max_single_position")
        for reason in portfolio.explanations["reason"]
    )


def test_ten_positions_need_several_capping_rounds() -> None:
    raw = np.array([10.0, 9.0, 8.0, 6.5, 6.0, 5.5, 1.5, 1.2, 1.0, 0.8, 0.7, 0.6])
    scores = pd.Series(raw / raw.max(), index=[f"P{i}" for i in range(len(raw))])
    limits = dict(sizing_mode="score_weighted", max_single_position=0.15, min_score_threshold=0)
    portfolio = portcon.construct(scores, limits)
    expected = cap_and_renormalise(scores.to_numpy(), 0.15, 0.95)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=TOLERANCE)
    # one cap-then-renormalise pass is not enough here: it pushes P2 back over the cap
    one_pass = np.minimum(scores.to_numpy() / scores.sum() * 0.95, 0.15)
    free = one_pass < 0.15
    one_pass[free] *= (0.95 - 0.15 * (~free).sum()) / one_pass[free].sum()
    assert one_pass.max() > 0.15 + 1e-3
    assert portfolio.weights.max() <= 0.15 + 1e-12
    capped = portfolio.explanations["reason"].str.startswith("capped at 15.0%")
    assert capped.sum() == 3


def test_many_scores_above_point_nine_are_not_concentrated() -> None:
    rng = np.random.default_rng(5)
    scores = pd.Series(rng.uniform(0.9, 1.0, 9), index=[f"H{i}" for i in range(9)])
    portfolio = portcon.construct(scores, dict(sizing_mode="score_weighted"))
    assert portfolio.weights.sum() == pytest.approx(0.95, abs=TOLERANCE)
    assert portfolio.weights.max() <= 0.15 + 1e-12
    assert portfolio.metrics.effective_positions > 6.5


def test_bucket_cap_with_sizing_keeps_score_shares_inside_the_bucket() -> None:
    frame = pd.DataFrame(
        {
            "score": [0.95, 0.90, 0.85, 0.80, 0.70, 0.65, 0.62],
            "bucket": ["Risk", "Risk", "Risk", "Risk", "Defensive", "Defensive", "Intl"],
        },
        index=["A", "B", "C", "D", "E", "F", "G"],
    )
    portfolio = portcon.construct(
        frame,
        dict(sizing_mode="score_weighted", max_single_position=0.3, max_bucket_allocation=0.4),
    )
    weights = portfolio.weights
    risk = weights[["A", "B", "C", "D"]]
    assert risk.sum() == pytest.approx(0.40, abs=TOLERANCE)
    np.testing.assert_allclose(
        risk / risk.sum(), frame.score[:4] / frame.score[:4].sum(), atol=TOLERANCE
    )
    assert weights.sum() == pytest.approx(0.95, abs=TOLERANCE)
    reason = portfolio.explanations.loc["A", "reason"]
    assert "Risk bucket cap binding" in reason and "max_bucket_allocation" in reason
    exposure = portfolio.metrics.bucket_exposure
    assert exposure.loc["Risk", "headroom"] == pytest.approx(0.0, abs=TOLERANCE)


@pytest.mark.parametrize("preset", list(portcon.PRESETS))
def test_every_preset_produces_a_portfolio_within_its_limits(preset: str) -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {"score": rng.uniform(0.4, 1.0, 40), "bucket": rng.choice(["R", "D", "I", "C"], 40)},
        index=[f"Z{i}" for i in range(40)],
    )
    portfolio = portcon.construct(frame, preset)
    universe = Universe.from_scores(frame)
    assert violations(portfolio.weights.to_numpy(), universe, portfolio.limits) == []
    assert portfolio.weights.sum() <= portcon.Limits.preset(preset).target_allocation + 1e-12


def test_no_eligible_asset_leaves_everything_in_cash() -> None:
    portfolio = portcon.construct(pd.Series({"a": 0.1, "b": 0.2}))
    assert portfolio.cash == 1.0
    assert portfolio.status == "no_eligible_assets"
    assert "no asset is eligible" in portfolio.cash_reason
    assert portfolio.explanations.loc["a", "reason"].startswith("not held: score 0.10 below")
