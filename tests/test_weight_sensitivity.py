"""Portfolio.weight_sensitivity(): every derivative against re-solves with the limit moved.

Central differences (step 1e-5) where the reported range covers both sides, one-sided where
the limit sits at a kink; the reported ranges are checked by re-solving just inside and just
beyond them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import portcon
from tests.conftest import random_universe
from tests.finite_differences import moved

STEP = 1e-5
DERIVATIVE_TOLERANCE = 2e-5  # |Δw/Δθ − dw/dθ|, per asset and cash (solver noise ~1e-10 / STEP)
KINK = 1e-6  # a range this short is "at once"


def _factor_model(n: int, seed: int, k: int = 2) -> portcon.FactorModel:
    rng = np.random.default_rng(seed)
    assets = [f"A{i:03d}" for i in range(n)]
    factors = [f"f{j}" for j in range(k)]
    loadings = pd.DataFrame(rng.normal(0.0, 0.2, (n, k)), index=assets, columns=factors)
    root = rng.normal(0, 1, (k, k))
    factor_cov = pd.DataFrame(root @ root.T / k + np.eye(k) * 0.5, index=factors, columns=factors)
    specific = pd.Series(rng.uniform(0.01, 0.06, n), index=assets)
    return portcon.FactorModel(loadings, factor_cov, specific)


def _books() -> dict[str, tuple[pd.DataFrame, dict, dict]]:
    scores = random_universe(1, n=12, buckets=3, low=0.6)
    sectors = random_universe(4, n=14, buckets=3, sectors=3, low=0.6)
    model = _factor_model(12, 5)
    mu = pd.Series(np.linspace(0.02, 0.14, 12), index=model.assets)
    covariance = model.covariance()
    plain = scores.assign(score=np.linspace(0.6, 0.95, 12))
    return {
        "box caps": (scores, dict(sizing_mode="score_weighted", max_single_position=0.09), {}),
        "bucket caps": (
            sectors,
            dict(
                sizing_mode="score_weighted",
                max_single_position=0.2,
                max_bucket_allocation=0.45,
                bucket_caps={"B1": 0.2},
                max_sector_allocation=0.5,
            ),
            {},
        ),
        "rollover": (
            scores,
            dict(sizing_mode="equal_weight", max_single_position=0.07, target_allocation=0.98),
            {},
        ),
        "volatility cap": (
            plain,
            dict(
                sizing_mode="score_weighted",
                max_single_position=0.2,
                max_portfolio_volatility=0.07,
                min_score_threshold=None,
            ),
            {"covariance": covariance},
        ),
        "mean-variance": (
            plain,
            dict(
                sizing_mode="mean_variance",
                risk_aversion=4.0,
                max_single_position=0.25,
                min_score_threshold=None,
                target_allocation=0.98,
            ),
            {"factor_model": model, "expected_returns": mu},
        ),
    }


def _weights_with(scores: pd.DataFrame, market: dict) -> Callable[[dict], pd.Series]:
    def solve(limits: dict) -> pd.Series:
        portfolio = portcon.construct(scores, limits, **market)
        return pd.concat([portfolio.weights, pd.Series({"CASH": portfolio.cash})])

    return solve


@pytest.mark.parametrize("book", list(_books()))
def test_derivatives_match_central_differences(book: str) -> None:
    scores, limits, market = _books()[book]
    solve = _weights_with(scores, market)
    sensitivity = portcon.construct(scores, limits, **market).weight_sensitivity()
    assert sensitivity.note == ""
    checked = 0
    for label, row in sensitivity.ranges.iterrows():
        if min(row["up"], row["down"]) < 2 * STEP:
            continue
        up = solve(moved(limits, row["field"], row["group"], STEP))
        down = solve(moved(limits, row["field"], row["group"], -STEP))
        central = (up - down) / (2 * STEP)
        np.testing.assert_allclose(
            sensitivity.weights[label].to_numpy(),
            central.to_numpy(),
            atol=DERIVATIVE_TOLERANCE,
            err_msg=f"{book}: {label}",
        )
        checked += 1
    binding = sensitivity.ranges[sensitivity.ranges["binding"]]
    assert checked >= 2 and len(binding) >= 1, book


def _active_set(scores: pd.DataFrame, limits: dict, market: dict) -> tuple[bool, ...]:
    return tuple(portcon.construct(scores, limits, **market).constraints["binding"])


@pytest.mark.parametrize("book", ["box caps", "bucket caps", "volatility cap", "mean-variance"])
def test_the_range_ends_where_the_active_set_changes(book: str) -> None:
    """Halfway to the end of the range the binding rows are the base's; half as far again
    beyond it they are not. Where the weights are affine in the limit (linear rows, a
    quadratic objective not scaled by the limit) the prediction is exact inside the range."""
    scores, limits, market = _books()[book]
    solve = _weights_with(scores, market)
    base, rows = solve(limits), _active_set(scores, limits, market)
    sensitivity = portcon.construct(scores, limits, **market).weight_sensitivity()
    tried = 0
    for label, row in sensitivity.ranges[sensitivity.ranges["binding"]].iterrows():
        reach = float(row["up"])
        if not 1e-4 < reach < 0.2 or row["value"] + 1.5 * reach > 1:
            continue
        field, group = row["field"], row["group"]
        inside = moved(limits, field, group, 0.5 * reach)
        assert _active_set(scores, inside, market) == rows, label
        beyond = moved(limits, field, group, 1.5 * reach)
        assert _active_set(scores, beyond, market) != rows, label
        affine = book != "volatility cap" and field != "risk_aversion"
        if affine:
            predicted = base + 0.5 * reach * sensitivity.weights[label]
            np.testing.assert_allclose(solve(inside), predicted, atol=1e-7, err_msg=label)
        tried += 1
    assert tried >= 1, book


def test_mean_variance_risk_aversion_is_derived() -> None:
    scores, limits, market = _books()["mean-variance"]
    sensitivity = portcon.construct(scores, limits, **market).weight_sensitivity()
    assert "risk_aversion" in sensitivity.weights.columns
    assert sensitivity.ranges.loc["risk_aversion", "binding"]
    assert np.abs(sensitivity.weights["risk_aversion"]).max() > 1e-3


def test_a_cap_at_the_uncapped_weight_is_a_kink_with_no_range_upwards() -> None:
    scores = random_universe(2, n=10, buckets=0, low=0.6)
    limits = dict(sizing_mode="score_weighted", max_single_position=None, min_score_threshold=None)
    top = portcon.construct(scores, limits).weights.max()
    kinked = dict(limits, max_single_position=float(top))
    portfolio = portcon.construct(scores, kinked)
    sensitivity = portfolio.weight_sensitivity()
    row = sensitivity.ranges.loc["max_single_position"]
    assert row["up"] <= KINK
    assert "at the margin only" in sensitivity.sentence("max_single_position")
    solve = _weights_with(scores, {})
    base = solve(kinked)
    right = (solve(moved(kinked, "max_single_position", None, STEP)) - base) / STEP
    left = (base - solve(moved(kinked, "max_single_position", None, -STEP))) / STEP
    assert np.abs(right).max() < DERIVATIVE_TOLERANCE  # raising a slack-in-effect cap: nothing
    np.testing.assert_allclose(
        sensitivity.weights["max_single_position"], left, atol=DERIVATIVE_TOLERANCE
    )


def test_sentence_names_the_assets_and_cash() -> None:
    scores = pd.DataFrame(
        {"score": [0.9, 0.8, 0.7, 0.9], "bucket": ["Intl", "Intl", "US", "US"]},
        index=pd.Index(["EEM", "INDA", "SPY", "QQQ"]),
    )
    limits = dict(
        sizing_mode="equal_weight",
        bucket_caps={"Intl": 0.3, "US": 0.4},
        max_single_position=None,
        min_score_threshold=None,
        target_allocation=1.0,
    )
    portfolio = portcon.construct(scores, limits)
    sensitivity = portfolio.weight_sensitivity()
    assert sensitivity.sentence("bucket_caps[Intl]").startswith(
        "raising bucket_caps[Intl] by 1pp would add 0.50pp to EEM and 0.50pp to INDA, "
        "taken from cash"
    )
    np.testing.assert_allclose(sensitivity.weights.loc["CASH", "bucket_caps[Intl]"], -1.0)


def test_mixed_integer_answers_hold_for_the_chosen_support() -> None:
    scores = random_universe(3, n=12, buckets=0, low=0.6)
    limits = dict(sizing_mode="score_weighted", max_total_positions=5, max_single_position=0.3)
    portfolio = portcon.construct(scores, limits)
    assert portfolio.path != "convex"
    sensitivity = portfolio.weight_sensitivity()
    assert "chosen support" in sensitivity.note
    held = portfolio.weights > 0
    assert (sensitivity.weights.loc[held[~held].index].abs().to_numpy() < 1e-12).all()
