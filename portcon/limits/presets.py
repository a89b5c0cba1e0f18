"""Named strategy presets, carried over from the rebalancer's documented presets.

The rebalancer's ``max_new_positions`` is left out: without a current_weight column every
asset counts as new, and a preset should not quietly cap a first portfolio at one or two
names. Set it explicitly when current weights are given.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from portcon._text import did_you_mean
from portcon.errors import LimitsError

PRESETS: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType(
    {
        "conservative": MappingProxyType(
            {
                "sizing_mode": "equal_weight",
                "target_allocation": 0.90,
                "max_single_position": 0.12,
                "min_score_threshold": 0.65,
                "max_bucket_allocation": 0.35,
                "max_total_positions": 8,
                "max_positions_per_bucket": 3,
                "min_buckets_represented": 3,
                "min_position_size": 0.02,
            }
        ),
        "balanced": MappingProxyType(
            {
                "sizing_mode": "adaptive",
                "target_allocation": 0.95,
                "max_single_position": 0.15,
                "min_score_threshold": 0.60,
                "max_bucket_allocation": 0.40,
                "max_total_positions": 10,
                "max_positions_per_bucket": 4,
                "min_buckets_represented": 2,
                "min_position_size": 0.02,
            }
        ),
        "aggressive": MappingProxyType(
            {
                "sizing_mode": "score_weighted",
                "target_allocation": 0.98,
                "max_single_position": 0.25,
                "min_score_threshold": 0.55,
                "max_bucket_allocation": 0.60,
                "max_total_positions": 12,
                "max_positions_per_bucket": 6,
                "min_position_size": 0.02,
            }
        ),
        "momentum": MappingProxyType(
            {
                "sizing_mode": "score_weighted",
                "target_allocation": 0.95,
                "max_single_position": 0.30,
                "min_score_threshold": 0.60,
                "max_total_positions": 6,
                "max_positions_per_bucket": 5,
                "min_position_size": 0.02,
            }
        ),
        "crisis": MappingProxyType(
            {
                "sizing_mode": "equal_weight",
                "target_allocation": 0.60,
                "max_single_position": 0.18,
                "min_score_threshold": 0.70,
                "max_bucket_allocation": 0.35,
                "max_total_positions": 5,
                "max_positions_per_bucket": 2,
                "min_buckets_represented": 3,
                "min_position_size": 0.02,
            }
        ),
    }
)

DESCRIPTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "conservative": "equal weights, ≤ 8 names (3 per bucket, ≥ 3 buckets), 12% positions, "
        "35% per bucket, 10% cash",
        "balanced": "adaptive sizing, ≤ 10 names (4 per bucket, ≥ 2 buckets), 15% positions, "
        "40% per bucket",
        "aggressive": "score-weighted, ≤ 12 names, 25% positions, 60% per bucket, 2% cash",
        "momentum": "score-weighted, concentrated: ≤ 6 names, 30% positions, no bucket cap",
        "crisis": "equal weights, ≤ 5 names (2 per bucket, ≥ 3 buckets), score ≥ 0.70, "
        "60% invested",
    }
)


def preset_fields(name: str) -> dict[str, Any]:
    """The Limits fields a preset sets.

    Raises
    ------
    LimitsError
        For an unknown preset, with a did-you-mean and the list of presets.
    """
    if not isinstance(name, str):
        raise LimitsError(
            f'preset must be the name of a preset as text, e.g. preset = "balanced"; got '
            f"{name!r} ({type(name).__name__}); presets: {', '.join(PRESETS)}"
        )
    if name not in PRESETS:
        raise LimitsError(
            f"unknown preset '{name}'{did_you_mean(name, PRESETS)}; presets: {', '.join(PRESETS)}"
        )
    return dict(PRESETS[name])
