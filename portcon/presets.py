"""Named strategy presets, carried over from the rebalancer's documented presets.

Only fields that portcon implements are set; the rebalancer's position-count settings
(``max_total_positions`` and friends) arrive with the mixed-integer fallback.
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
            }
        ),
        "balanced": MappingProxyType(
            {
                "sizing_mode": "adaptive",
                "target_allocation": 0.95,
                "max_single_position": 0.15,
                "min_score_threshold": 0.60,
                "max_bucket_allocation": 0.40,
            }
        ),
        "aggressive": MappingProxyType(
            {
                "sizing_mode": "score_weighted",
                "target_allocation": 0.98,
                "max_single_position": 0.25,
                "min_score_threshold": 0.55,
                "max_bucket_allocation": 0.60,
            }
        ),
        "momentum": MappingProxyType(
            {
                "sizing_mode": "score_weighted",
                "target_allocation": 0.95,
                "max_single_position": 0.30,
                "min_score_threshold": 0.60,
            }
        ),
        "crisis": MappingProxyType(
            {
                "sizing_mode": "equal_weight",
                "target_allocation": 0.60,
                "max_single_position": 0.18,
                "min_score_threshold": 0.70,
                "max_bucket_allocation": 0.35,
            }
        ),
    }
)

DESCRIPTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "conservative": "equal weights, 12% positions, 35% per bucket, 10% cash",
        "balanced": "adaptive sizing, 15% positions, 40% per bucket",
        "aggressive": "score-weighted, 25% positions, 60% per bucket, 2% cash",
        "momentum": "score-weighted, concentrated: 30% positions, no bucket cap",
        "crisis": "equal weights, high bar (score ≥ 0.70), 60% invested, 35% per bucket",
    }
)


def preset_fields(name: str) -> dict[str, Any]:
    """The Limits fields a preset sets.

    Raises
    ------
    LimitsError
        For an unknown preset, with a did-you-mean and the list of presets.
    """
    if name not in PRESETS:
        raise LimitsError(
            f"unknown preset '{name}'{did_you_mean(name, PRESETS)}; presets: {', '.join(PRESETS)}"
        )
    return dict(PRESETS[name])
