"""Named strategy presets: the rebalancer's five documented presets, field by field.

Each preset carries the seed's own values (dynamic-rebalancing TODO, "Strategy Preset 1–5").
Where portcon cannot or deliberately does not take a seed value, the preset's description
says so:

- the seed's ``base_position_size`` with equal-weight sizing is the size of each position;
  portcon's equal_weight gives target / n capped at ``max_single_position``, so the base size
  becomes that cap (the seed's rule min ≤ base ≤ max_single makes it the largest position);
- ``trending_confidence_new`` needs a ``trending_confidence`` column and
  ``volatility_position_scaling`` needs volatilities: a preset must work on a plain scores
  file, so both are left for the caller to add (``min_confidence_new``,
  ``volatility_position_scaling``);
- ``max_new_positions`` is the seed's: without a current book every held name is new, so a
  first portfolio opens at most that many names, as the seed's rebalancer does on its first
  day (set ``max_new_positions = "off"`` to build a full book from cash);
- ``target_allocation`` is not in the seed's presets; conservative and aggressive take the
  0.90 / 0.98 of the seed's sizing configurations (module 3), the others the default 0.95.
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
                "min_score_new_position": 0.70,
                "max_bucket_allocation": 0.35,
                "max_total_positions": 8,
                "max_new_positions": 2,
                "max_positions_per_bucket": 3,
                "min_buckets_represented": 3,
                "min_position_size": 0.02,
                "diversification_mode": "strict",
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
                "max_new_positions": 3,
                "max_positions_per_bucket": 4,
                "min_buckets_represented": 2,
                "min_position_size": 0.02,
                "regime_change_aggression": 2.5,
                "diversification_mode": "balanced",
                "bucket_balance_tolerance": 0.15,
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
                "max_new_positions": 5,
                "max_positions_per_bucket": 6,
                "min_position_size": 0.02,
                "regime_change_aggression": 3.0,
                "diversification_mode": "aggressive",
            }
        ),
        "momentum": MappingProxyType(
            {
                "sizing_mode": "score_weighted",
                "target_allocation": 0.95,
                "max_single_position": 0.30,
                "min_score_threshold": 0.60,
                "min_score_new_position": 0.75,
                "max_total_positions": 6,
                "max_new_positions": 4,
                "max_positions_per_bucket": 5,
                "min_position_size": 0.02,
                "min_holding_days": 7,
                "score_decay_factor": 0.98,
            }
        ),
        "crisis": MappingProxyType(
            {
                "sizing_mode": "equal_weight",
                "max_single_position": 0.18,
                "min_score_threshold": 0.70,
                "max_total_positions": 5,
                "max_new_positions": 1,
                "max_positions_per_bucket": 2,
                "min_buckets_represented": 3,
                "min_position_size": 0.02,
                "diversification_mode": "strict",
                "drawdown_position_reduction": 0.6,
            }
        ),
    }
)

_BASE_AS_CAP = "the seed's base size {0} is the largest position (max_single_position {0})"
DESCRIPTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "conservative": "strict; equal weights, ≤ 8 names (2 new, 3 per bucket, ≥ 3 buckets), "
        "35% per bucket, keep ≥ 0.65, open ≥ 0.70, 10% cash; " + _BASE_AS_CAP.format("12%"),
        "balanced": "regime-adaptive: adaptive sizing, ≤ 10 names (3 new, 4 per bucket, ≥ 2 "
        "buckets), 40% per bucket, buckets within 15% of an equal share, regime change × 2.5; "
        "the seed's volatility scaling needs volatilities, so it is left to the caller",
        "aggressive": "aggressive mode: score-weighted, ≤ 12 names (5 new, 6 per bucket), 25% "
        "positions, 60% per bucket, regime change × 3.0, 2% cash; the seed's trending "
        "confidence 0.8 needs a trending_confidence column (min_confidence_new)",
        "momentum": "score-weighted, concentrated: ≤ 6 names (4 new, 5 per bucket), 30% "
        "positions, open ≥ 0.75, hold ≥ 7 days, scores × 0.98 per day held; the seed's "
        "trending confidence 0.85 needs a trending_confidence column",
        "crisis": "strict; equal weights, ≤ 5 names (1 new, 2 per bucket, ≥ 3 buckets), 35% "
        "per bucket, score ≥ 0.70, drawdown × 0.6; " + _BASE_AS_CAP.format("18%"),
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
