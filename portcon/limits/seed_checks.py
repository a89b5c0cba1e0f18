"""The rebalancer's parameter rules: diversification-mode dependencies, its range checks and
where its sizing options apply.

``apply_diversification_mode`` runs before pydantic (it fills limits a mode implies);
``check_seed_rules`` runs after it, with the other cross-field checks. Each message names the
rule it enforces and how to satisfy it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portcon.limits.enums import DiversificationMode, ResidualStrategy, SizingMode

STRICT_BUCKET_CAP = 0.35
STRICT_MIN_BUCKETS = 2
AGGRESSIVE_BUCKET_CAP = 0.7
AGGRESSIVE_TOLERANCE = 0.3
SEED_TARGET_FLOOR = 0.8
SEED_CAP_FLOOR = 0.1
SEED_BASE_RANGE = (0.01, 0.5)
SCORE_SIZED_MODES = frozenset(
    {
        SizingMode.EQUAL_WEIGHT,
        SizingMode.SCORE_WEIGHTED,
        SizingMode.ADAPTIVE,
        SizingMode.TIERED,
        SizingMode.INVERSE_VOLATILITY,
    }
)
"""Modes that size from scores: raw sizes or shares, so a residual and new-position sizes."""
BASE_MODES = (SizingMode.TIERED, SizingMode.ADAPTIVE, SizingMode.EQUAL_WEIGHT)
"""Modes whose raw sizes a ``base_position_size`` makes absolute."""


def apply_diversification_mode(data: Any) -> Any:
    """Fill what a diversification mode implies where the field is off (None) or absent.

    strict: ``max_bucket_allocation`` 0.35 and ``min_buckets_represented`` 2 when off;
    aggressive: ``max_bucket_allocation`` 0.7 when off. Explicit values that contradict the
    mode are left for :func:`check_seed_rules` to reject, so nothing is changed silently.
    """
    if not isinstance(data, Mapping):
        return data
    mode = data.get("diversification_mode")
    if mode is None:
        return data
    filled = dict(data)
    if str(mode) == DiversificationMode.STRICT:
        if filled.get("max_bucket_allocation") is None:
            filled["max_bucket_allocation"] = STRICT_BUCKET_CAP
        if filled.get("min_buckets_represented") is None:
            filled["min_buckets_represented"] = STRICT_MIN_BUCKETS
    elif mode == DiversificationMode.AGGRESSIVE and filled.get("max_bucket_allocation") is None:
        filled["max_bucket_allocation"] = AGGRESSIVE_BUCKET_CAP
    return filled


def check_seed_rules(limits: Any) -> None:
    """The rebalancer's rules (raises ValueError, which Limits turns into LimitsError)."""
    _check_mode(limits)
    new, keep = limits.min_score_new_position, limits.min_score_threshold
    if new is not None and keep is not None and keep > new:
        raise ValueError(
            f"rule min_score_threshold ≤ min_score_new_position: the keep threshold {keep:g} "
            f"exceeds the entry threshold {new:g}; lower min_score_threshold or raise "
            "min_score_new_position"
        )
    check_sizing_options(limits)
    if limits.seed_ranges:
        _check_seed_ranges(limits)


def check_sizing_options(limits: Any) -> None:
    """base_position_size, residual_strategy, size_adjustment_factor and rollover_threshold
    only where they mean something; never silently ignored."""
    mode = limits.sizing_mode
    if limits.base_position_size is not None:
        if mode not in BASE_MODES:
            raise ValueError(
                f"base_position_size applies to sizing_mode {', '.join(BASE_MODES)} (the raw "
                f"sizes it scales), not '{mode}'; remove it or choose one of those modes"
            )
        if limits.volatility_position_scaling:
            raise ValueError(
                "volatility_position_scaling tilts shares of the target, and "
                "base_position_size makes raw sizes absolute (base × multiplier); the two do "
                "not combine: drop one of them"
            )
    if mode in SCORE_SIZED_MODES:
        return
    given = {
        "residual_strategy": limits.residual_strategy != ResidualStrategy.AUTO,
        "size_adjustment_factor": limits.size_adjustment_factor is not None,
        "rollover_threshold": limits.rollover_threshold is not None,
    }
    modes = ", ".join(sorted(SCORE_SIZED_MODES))
    for field, set_ in given.items():
        if set_:
            raise ValueError(
                f"{field} applies to the score sizing modes ({modes}), not '{mode}': it sizes "
                "the whole target from the risk model, so there are no raw sizes to leave a "
                "residual or to scale; remove it"
                + (" (or set it to 'auto')" if field == "residual_strategy" else "")
            )


def _check_mode(limits: Any) -> None:
    mode, cap = limits.diversification_mode, limits.max_bucket_allocation
    if mode == DiversificationMode.STRICT:
        if cap is not None and cap > STRICT_BUCKET_CAP:
            raise ValueError(
                f"rule diversification_mode 'strict' ⇒ max_bucket_allocation ≤ "
                f"{STRICT_BUCKET_CAP:g}: got {cap:g}; lower it or use 'balanced'"
            )
        buckets = limits.min_buckets_represented
        if buckets is not None and buckets < STRICT_MIN_BUCKETS:
            raise ValueError(
                f"rule diversification_mode 'strict' ⇒ min_buckets_represented ≥ "
                f"{STRICT_MIN_BUCKETS}: got {buckets}; raise it or use 'balanced'"
            )
    if mode == DiversificationMode.AGGRESSIVE:
        if cap is not None and cap > AGGRESSIVE_BUCKET_CAP:
            raise ValueError(
                f"rule diversification_mode 'aggressive' ⇒ max_bucket_allocation ≤ "
                f"{AGGRESSIVE_BUCKET_CAP:g}: got {cap:g}; lower it"
            )
        tolerance = limits.bucket_balance_tolerance
        if tolerance is not None and tolerance < AGGRESSIVE_TOLERANCE:
            raise ValueError(
                f"rule diversification_mode 'aggressive' ⇒ bucket_balance_tolerance ≥ "
                f"{AGGRESSIVE_TOLERANCE:g}: got {tolerance:g}; raise it, switch it off or use "
                "'balanced'"
            )


def _check_seed_ranges(limits: Any) -> None:
    fix = "; or set seed_ranges = false to allow it"
    target = limits.target_allocation
    if target < SEED_TARGET_FLOOR:
        raise ValueError(f"rule {SEED_TARGET_FLOOR:g} ≤ target_allocation ≤ 1: got {target:g}{fix}")
    caps = {
        "max_bucket_allocation": limits.max_bucket_allocation,
        "max_sector_allocation": limits.max_sector_allocation,
        **{f"bucket_caps[{k}]": v for k, v in limits.bucket_caps.items()},
        **{f"sector_caps[{k}]": v for k, v in limits.sector_caps.items()},
    }
    for name, cap in caps.items():
        if cap is not None and cap < SEED_CAP_FLOOR:
            raise ValueError(f"rule {SEED_CAP_FLOOR:g} ≤ {name} ≤ 1: got {cap:g}{fix}")
    base = limits.base_position_size
    if base is None:
        return
    low, high = SEED_BASE_RANGE
    if not low <= base <= high:
        raise ValueError(f"rule {low:g} ≤ base_position_size ≤ {high:g}: got {base:g}{fix}")
    smallest, largest = limits.min_position_size, limits.max_single_position
    if (smallest is not None and smallest > base) or (largest is not None and base > largest):
        raise ValueError(
            f"rule min_position_size ≤ base_position_size ≤ max_single_position: got "
            f"{smallest} ≤ {base:g} ≤ {largest}{fix}"
        )
