"""The independent checker catches every kind of violation (solver-free)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portcon.limits import Limits
from portcon.report.check import violations
from portcon.universe import Universe


@pytest.fixture
def universe() -> Universe:
    frame = pd.DataFrame(
        {
            "score": [0.9, 0.8, 0.7, 0.5],
            "bucket": ["X", "X", "Y", "Y"],
            "sector": ["s", "t", "t", "s"],
        },
        index=["a", "b", "c", "d"],
    )
    return Universe.from_scores(frame)


@pytest.mark.parametrize(
    ("weights", "limits", "fragment"),
    [
        ([0.1, 0.1, 0.1, 0.0], {}, None),
        ([-0.01, 0.1, 0.1, 0.0], {}, "long_only a"),
        ([0.2, 0.1, 0.1, 0.0], {}, "max_single_position a"),
        ([0.15, 0.15, 0.15, 0.0], dict(target_allocation=0.4), "target_allocation"),
        ([0.1, 0.1, 0.1, 0.01], {}, "min_score_threshold d"),
        ([0.15, 0.15, 0.1, 0.0], dict(max_bucket_allocation=0.25), "bucket cap X"),
        ([0.15, 0.1, 0.1, 0.0], dict(bucket_caps={"Y": 0.05}), "bucket cap Y"),
        ([0.0, 0.15, 0.15, 0.0], dict(max_sector_allocation=0.2), "sector cap t"),
        (
            [0.15, 0.0, 0.0, 0.0],
            dict(sizing_mode="tiered", base_position_size=0.05),
            "top_slice residual a",
        ),
    ],
)
def test_violations(universe: Universe, weights, limits, fragment) -> None:
    found = violations(np.array(weights), universe, Limits(**limits))
    if fragment is None:
        assert found == []
    else:
        assert any(fragment in line for line in found), found


def test_tolerance_is_respected(universe: Universe) -> None:
    weights = np.array([0.15 + 5e-9, 0.1, 0.1, 0.0])
    assert violations(weights, universe, Limits()) == []
    assert violations(weights + np.array([1e-7, 0, 0, 0]), universe, Limits()) != []
