"""Reasons that size their causes: reference weight + one piece per binding limit = weight,
checked against shares computed here; the sizing driver says what sets the sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.cli.render import render

FRAME = pd.DataFrame(
    {
        "score": [0.9, 0.8, 0.7, 0.6],
        "bucket": ["International", "International", "US", "US"],
    },
    index=["INDA", "EEM", "SPY", "QQQ"],
)
LIMITS = {
    "sizing_mode": "score_weighted",
    "min_score_threshold": None,
    "target_allocation": 1.0,
    "max_single_position": 1.0,
    "bucket_caps": {"International": 0.4},
}


def test_a_bucket_cap_cuts_its_names_from_their_score_share() -> None:
    portfolio = portcon.construct(FRAME, LIMITS)
    weights = portfolio.weights
    shares = FRAME["score"] / FRAME["score"].sum() * weights.sum()  # no limit but the budget
    causes = portfolio.sizing_causes()
    for asset in FRAME.index:
        move = weights[asset] - shares[asset]
        verb = "cut" if move < 0 else "raised"
        assert causes[asset] == (
            f"score share {100 * shares[asset]:.2f}%, {verb} to {100 * weights[asset]:.2f}% by "
            f"bucket_caps[International] ({100 * move:+.2f}pt)"
        )
    assert weights[["INDA", "EEM"]].sum() == pytest.approx(0.4, abs=1e-8)
    assert "scores (score share" in portfolio.summary()
    printed = " ".join(render(portfolio).split())  # wrapped reasons joined
    assert "score share 30.00%, cut to 21.18%" in printed  # 0.9/3.0 of 100%; 0.4 × 0.9/1.7


@pytest.mark.parametrize("mode", ["score_weighted", "mean_variance", "min_variance"])
def test_the_pieces_add_up_to_every_weight(mode: str) -> None:
    rng = np.random.default_rng(7)
    names = [f"A{i}" for i in range(8)]
    frame = pd.DataFrame({"score": rng.uniform(0.6, 1.0, 8), "bucket": ["X", "Y"] * 4}, index=names)
    returns = pd.DataFrame(rng.normal(0.001, 0.02, (260, 8)), columns=names)
    limits = {
        "sizing_mode": mode,
        "min_score_threshold": None,
        "max_single_position": 0.2,
        "bucket_caps": {"X": 0.45},
    }
    portfolio = portcon.construct(frame, limits, returns=returns)
    attribution = portfolio.attribution(level="limit")
    total = attribution.holdings.sum(axis=1)
    np.testing.assert_allclose(total, portfolio.weights, atol=1e-9)
    causes = portfolio.sizing_causes()
    held = portfolio.weights[portfolio.weights > 1e-9].index
    assert set(causes.index) == {str(a) for a in held}
    driver = portfolio.sizing_driver()
    text = render(portfolio)
    if mode == "score_weighted":
        assert driver.startswith("scores")
        assert "score (not sizing)" not in text
    else:
        assert "not the scores" in driver
        assert "score (not sizing)" in text
        assert all(cause.startswith("budget-only optimum") for cause in causes)
    if mode == "mean_variance":
        assert "expected returns" in driver
