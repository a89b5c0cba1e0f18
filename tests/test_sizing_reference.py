"""Proportional sizing equals the naive cap-and-renormalise reference (≥ 200 random cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from tests.naive import cap_and_renormalise, shares

WEIGHT_TOLERANCE = 1e-6
CASES = 70  # per mode: 3 modes × 70 = 210 random cases


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    scores = pd.Series(rng.uniform(0.3, 1.0, n), index=[f"S{i}" for i in range(n)])
    cap = float(rng.choice([0.05, 0.1, 0.15, 0.3, 1.0]))
    target = float(rng.uniform(0.5, 1.0))
    threshold = float(rng.choice([0.0, 0.5, 0.6]))
    return scores, cap, target, threshold


@pytest.mark.parametrize("mode", ["score_weighted", "equal_weight", "adaptive"])
@pytest.mark.parametrize("seed", range(CASES))
def test_matches_cap_and_renormalise(mode: str, seed: int) -> None:
    scores, cap, target, threshold = _case(seed)
    portfolio = portcon.construct(
        scores,
        dict(
            sizing_mode=mode,
            max_single_position=cap,
            target_allocation=target,
            min_score_threshold=threshold,
        ),
    )
    eligible = scores.to_numpy() >= threshold
    expected = np.zeros(len(scores))
    if eligible.any():
        expected[eligible] = cap_and_renormalise(
            shares(mode, scores.to_numpy()[eligible]), cap, target
        )
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHT_TOLERANCE)
    assert portfolio.cash == pytest.approx(1 - expected.sum(), abs=WEIGHT_TOLERANCE)
    assert list(portfolio.weights.index) == list(scores.index)
