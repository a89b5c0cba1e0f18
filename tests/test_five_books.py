"""Must-show of issue 16: on realistic books (the shipped example, a rebalance, mean-variance
under a binding volatility cap, position counts, an infeasible request and Kelly), every price
the command line prints is checked by re-running construct: at the printed step inside the
printed range the objective changes by the printed amount (1e-6 relative where it says
"exact"); just beyond the range the weights leave the straight line the range promised, as the
report said; an infeasible request's every repair constructs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.cli.render import STEP, render
from portcon.report.price_steps import exact_step_change
from portcon.report.resolve import reconstruct
from portcon.report.summary import PARAMETERS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCORES = pd.read_csv(EXAMPLES / "scores.csv", index_col="asset")
COVARIANCE = pd.read_csv(EXAMPLES / "covariance.csv", index_col=0)
MU = pd.Series(0.04 + 0.12 * (SCORES["score"] - 0.5), index=SCORES.index)  # 4%-10% a year
BASE = {"min_score_threshold": 0.65, "max_bucket_allocation": 0.35, "max_sector_allocation": 0.3}


def _example() -> portcon.Portfolio:
    return portcon.construct(SCORES, portcon.Limits.from_toml(EXAMPLES / "limits.toml"))


def _rebalance() -> portcon.Portfolio:
    limits = {**BASE, "sizing_mode": "score_weighted", "max_single_position": 0.08}
    return portcon.construct(SCORES, {**limits, "max_turnover": 0.25})


def _mean_variance() -> portcon.Portfolio:
    limits = {**BASE, "sizing_mode": "mean_variance", "risk_aversion": 2.0}
    limits |= {"max_single_position": 0.15, "max_portfolio_volatility": 0.12}
    return portcon.construct(
        SCORES.drop(columns="current_weight"), limits, covariance=COVARIANCE, expected_returns=MU
    )


def _counts() -> portcon.Portfolio:
    limits = {**BASE, "sizing_mode": "score_weighted", "max_single_position": 0.12}
    limits |= {"max_total_positions": 10, "mip_gap": 1e-9}
    return portcon.construct(SCORES.drop(columns="current_weight"), limits)


def _kelly() -> portcon.Portfolio:
    limits = {**BASE, "sizing_mode": "kelly", "kelly_fraction": 0.5, "max_single_position": 0.1}
    return portcon.construct(
        SCORES.drop(columns="current_weight"), limits, covariance=COVARIANCE, expected_returns=MU
    )


BOOKS = {
    "example": _example,
    "rebalance": _rebalance,
    "mean_variance": _mean_variance,
    "counts": _counts,
    "kelly": _kelly,
}


def _moved(portfolio: portcon.Portfolio, field: str, group: Any, value: float) -> dict:
    if isinstance(group, str) and group:
        return {field: {**getattr(portfolio.limits, field), group: value}}
    return {field: value}


@pytest.mark.parametrize("book", list(BOOKS))
def test_every_printed_price_holds_where_it_says_and_not_beyond(book: str) -> None:
    portfolio = BOOKS[book]()
    printed = " ".join(render(portfolio).split())
    moves = portfolio.weight_sensitivity()
    prices = portfolio.sensitivity()["shadow_price"].astype(float)
    checked = 0
    for label, row in moves.ranges[moves.ranges["binding"].astype(bool)].iterrows():
        label = str(label)
        if row["field"] in PARAMETERS or abs(prices.get(label, 0.0)) < 1e-9:
            continue
        up = float(row["up"])
        if np.isnan(up):  # no range derived (a kinked row): only the first-order rate is said
            first = -STEP * prices[label]
            assert f"changes the objective by {first:+.4g} (first order)" in printed
            moved = reconstruct(
                portfolio, **_moved(portfolio, row["field"], row["group"], row["value"] + STEP)
            )
            assert np.sign(moved.objective - portfolio.objective) == np.sign(first), label
            checked += 1
            continue
        if up >= STEP:
            exact = exact_step_change(portfolio, moves, label, STEP)
            moved = reconstruct(
                portfolio, **_moved(portfolio, row["field"], row["group"], row["value"] + STEP)
            )
            actual = moved.objective - portfolio.objective
            if exact is not None:
                assert f"changes the objective by {exact:+.6g} (exact)" in printed
                assert actual == pytest.approx(exact, rel=1e-6, abs=1e-9), label
            else:
                first = -STEP * prices[label]
                assert f"changes the objective by {first:+.4g} (first order)" in printed
                assert np.sign(actual) == np.sign(first), label
            checked += 1
        if np.isfinite(up) and up > 0:
            beyond = row["value"] + up + 2 * STEP
            try:
                moved = reconstruct(
                    portfolio, **_moved(portfolio, row["field"], row["group"], beyond)
                )
            except portcon.PortconError:
                continue  # no portfolio at all beyond: the range ended, as said
            line = portfolio.weights + (up + 2 * STEP) * moves.weights[label].iloc[:-1]
            assert np.max(np.abs(moved.weights - line)) > 1e-6, label
    assert not re.search(r"[-+−]nan\b|\bnan\b", printed)
    assert checked  # every book prints a price a re-solve checks


def test_an_infeasible_request_offers_only_repairs_that_construct() -> None:
    limits = {**BASE, "sizing_mode": "score_weighted", "max_single_position": 0.02}
    limits |= {"allow_cash_rollover": False, "max_total_positions": 20}
    scores = SCORES.drop(columns="current_weight")
    with pytest.raises(portcon.InfeasibleError) as refusal:
        portcon.construct(scores, limits)
    assert refusal.value.repairs
    for repair in refusal.value.repairs:
        for name, value in repair.items():
            assert limits.get(name, getattr(portcon.Limits(), name)) != value
        portcon.construct(scores, {**limits, **repair})
