"""When the limits cannot absorb the target, portcon invests as much as they allow.

The reference is an independent linear program (scipy's HiGHS): maximise Σ w subject to the
caps, written from the Limits and the scores directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

import portcon
from tests.conftest import random_universe

INVESTED_TOLERANCE = 1e-7


def _max_investable(frame, limits: portcon.Limits) -> float:
    eligible = frame[frame["score"] >= limits.min_score_threshold]
    n = len(eligible)
    rows, bounds = [np.ones(n)], [limits.target_allocation]
    for column, cap in (
        ("bucket", limits.max_bucket_allocation),
        ("sector", limits.max_sector_allocation),
    ):
        for group in eligible[column].unique():
            rows.append((eligible[column] == group).to_numpy(dtype=float))
            bounds.append(cap)
    result = linprog(
        -np.ones(n),
        A_ub=np.array(rows),
        b_ub=np.array(bounds),
        bounds=[(0, limits.max_single_position)] * n,
        method="highs",
    )
    assert result.status == 0
    return -result.fun


@pytest.mark.parametrize("mode", ["score_weighted", "equal_weight", "adaptive"])
@pytest.mark.parametrize("seed", range(40))
def test_rollover_invests_the_most_the_limits_allow(mode: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = random_universe(seed, n=int(rng.integers(4, 16)), buckets=3, sectors=3, low=0.6)
    limits = portcon.Limits(
        sizing_mode=mode,
        max_single_position=float(rng.choice([0.05, 0.1, 0.2])),
        max_bucket_allocation=float(rng.choice([0.1, 0.2, 0.3])),
        max_sector_allocation=float(rng.choice([0.1, 0.2, 0.3])),
    )
    portfolio = portcon.construct(frame, limits)
    expected = min(limits.target_allocation, _max_investable(frame, limits))
    assert portfolio.weights.sum() == pytest.approx(expected, abs=INVESTED_TOLERANCE)
    if expected < limits.target_allocation - INVESTED_TOLERANCE:
        assert "rolled to cash" in portfolio.cash_reason
