"""Tiered sizing and its residual strategies against naive references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.limits import DEFAULT_TIERS
from tests.naive import cap_and_renormalise, tier_multipliers, top_slice

WEIGHT_TOLERANCE = 1e-6


def _scores(seed: int, n: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.uniform(0.5, 1.0, n), index=[f"T{i}" for i in range(n)])


def _raw(scores: pd.Series, target: float, base: float | None) -> np.ndarray:
    multipliers = tier_multipliers(scores.to_numpy(), DEFAULT_TIERS)
    size = base if base is not None else target / np.count_nonzero(multipliers)
    return size * multipliers


@pytest.mark.parametrize("seed", range(40))
def test_cash_strategy_holds_raw_sizes_and_scales_overflow(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = _scores(seed, int(rng.integers(2, 20)))
    base = float(rng.choice([0.03, 0.06, 0.12]))
    cap, target = 0.12, 0.95
    portfolio = portcon.construct(
        scores,
        dict(
            sizing_mode="tiered",
            residual_strategy="cash",
            base_position_size=base,
            max_single_position=cap,
            target_allocation=target,
        ),
    )
    raw = _raw(scores, target, base)
    held = np.minimum(raw, cap)
    expected = held if held.sum() <= target else cap_and_renormalise(raw, cap, target)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHT_TOLERANCE)


@pytest.mark.parametrize("seed", range(40))
def test_top_slice_equals_greedy_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = _scores(seed, int(rng.integers(2, 20)))
    base = float(rng.choice([0.02, 0.04, 0.08]))
    cap, target = float(rng.choice([0.06, 0.1, 0.15])), 0.95
    per_asset, multiple = 0.05, 0.5
    portfolio = portcon.construct(
        scores,
        dict(
            sizing_mode="tiered",
            residual_strategy="top_slice",
            base_position_size=base,
            max_single_position=cap,
            target_allocation=target,
            max_residual_per_asset=per_asset,
            max_residual_multiple=multiple,
        ),
    )
    raw = _raw(scores, target, base)
    eligible = raw > 0
    expected = np.zeros(len(scores))
    expected[eligible] = top_slice(
        raw[eligible], scores.to_numpy()[eligible], cap, target, per_asset, multiple
    )
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHT_TOLERANCE)


@pytest.mark.parametrize("seed", range(20))
def test_proportional_strategy_scales_raw_sizes_to_target(seed: int) -> None:
    scores = _scores(seed, 15)
    portfolio = portcon.construct(
        scores,
        dict(sizing_mode="tiered", residual_strategy="proportional", max_single_position=0.1),
    )
    raw = _raw(scores, 0.95, None)
    eligible = raw > 0
    expected = np.zeros(len(scores))
    expected[eligible] = cap_and_renormalise(raw[eligible], 0.1, 0.95)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHT_TOLERANCE)


def test_default_base_is_target_over_number_of_tiered_assets() -> None:
    scores = pd.Series({"a": 0.95, "b": 0.85, "c": 0.75, "d": 0.65, "e": 0.55})
    portfolio = portcon.construct(
        scores,
        dict(sizing_mode="tiered", residual_strategy="cash", max_single_position=None),
    )
    base = 0.95 / 4
    raw = np.array([1.5, 1.2, 1.0, 0.8]) * base  # sums to 1.07 > 0.95: scaled down
    expected = raw * 0.95 / raw.sum()
    np.testing.assert_allclose(portfolio.weights.to_numpy()[:4], expected, atol=WEIGHT_TOLERANCE)
    assert portfolio.weights["e"] == 0
    assert "below min_score_threshold" in portfolio.explanations.loc["e", "reason"]


def test_cash_strategy_reports_the_leftover() -> None:
    scores = pd.Series({"a": 0.95, "b": 0.75})
    portfolio = portcon.construct(
        scores, dict(sizing_mode="tiered", residual_strategy="cash", base_position_size=0.1)
    )
    np.testing.assert_allclose(portfolio.weights.to_numpy(), [0.15, 0.10], atol=WEIGHT_TOLERANCE)
    assert portfolio.cash == pytest.approx(0.75, abs=WEIGHT_TOLERANCE)
    assert portfolio.rollover == 0.0  # the strategy's choice, not what the limits left
    assert "chosen by the objective" in portfolio.cash_reason
    assert "residual_strategy 'cash'" in portfolio.cash_reason
