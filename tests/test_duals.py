"""Dual-value explanations: KKT residuals and shadow prices against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import portcon
from tests.conftest import random_universe
from tests.finite_differences import check_shadow_prices

KKT_TOLERANCE = 1e-6

MODES = [
    dict(sizing_mode="score_weighted"),
    dict(sizing_mode="equal_weight"),
    dict(sizing_mode="adaptive"),
    dict(sizing_mode="inverse_volatility"),
    dict(sizing_mode="tiered", residual_strategy="cash"),
    dict(sizing_mode="tiered", residual_strategy="proportional"),
    dict(sizing_mode="tiered", residual_strategy="top_slice"),
    dict(sizing_mode="tiered", residual_strategy="top_slice", base_position_size=0.04),
]


def _scores(seed: int):
    frame = random_universe(seed, n=16, buckets=3, sectors=4, low=0.55)
    frame["volatility"] = np.random.default_rng(seed + 99).uniform(0.1, 0.5, len(frame))
    return frame


def _limits(mode: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return dict(
        mode,
        max_single_position=float(rng.choice([0.08, 0.12, 0.2])),
        max_bucket_allocation=float(rng.choice([0.3, 0.45, 0.6])),
        max_sector_allocation=float(rng.choice([0.3, 0.5])),
        bucket_caps={"B1": 0.25},
    )


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m.values())))
@pytest.mark.parametrize("seed", range(6))
def test_kkt_residual_is_zero_for_every_asset(mode: dict, seed: int) -> None:
    portfolio = portcon.construct(_scores(seed), _limits(mode, seed))
    explained = portfolio.explanations.dropna(subset=["residual"])
    assert len(explained) > 0
    rule_columns = explained.columns[explained.columns.get_loc("sizing") :].drop("residual")
    recomputed = explained[rule_columns].sum(axis=1)
    np.testing.assert_allclose(explained["residual"], recomputed, atol=1e-12)
    assert explained["residual"].abs().max() < KKT_TOLERANCE


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m.values())))
@pytest.mark.parametrize("seed", range(4))
def test_shadow_prices_match_finite_differences(mode: dict, seed: int) -> None:
    """Where the optimal value is differentiable in a limit, its derivative is the shadow price.

    At a kink (one-sided differences disagree) the shadow price must be a subgradient: it lies
    between the two one-sided derivatives.
    """
    scores, limits = _scores(seed), _limits(mode, seed)
    portfolio = portcon.construct(scores, limits)
    smooth = check_shadow_prices(
        portfolio, limits, lambda changed: portcon.construct(scores, changed).objective
    )
    assert smooth >= 2


def test_binding_cap_has_positive_price_and_slack_cap_zero() -> None:
    scores = random_universe(3, n=10, buckets=0, low=0.6)
    portfolio = portcon.construct(
        scores, dict(sizing_mode="score_weighted", max_single_position=0.12)
    )
    caps = portfolio.constraints.query("rule == 'max_single_position'")
    assert (caps.loc[caps["binding"], "shadow_price"] > 1e-6).all()
    assert (caps.loc[~caps["binding"], "shadow_price"].abs() < 1e-7).all()
