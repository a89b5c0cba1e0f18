"""The independent check of a held book's rules, in plain numpy (shares no code with
portcon.rebalance): entry and keep thresholds, confidence, fixed weights, minimum holding,
grace caps, closes, the turnover cap and the minimum trade size."""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits
from portcon.universe import Universe


def held_violations(
    weights: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    """Every rule of the held book that ``weights`` break, in words."""
    found: list[str] = []
    n = universe.size
    current = universe.current_weight if universe.current_weight is not None else np.zeros(n)
    if limits.max_turnover is not None:
        turnover = 0.5 * float(np.abs(weights - current).sum())
        if turnover > limits.max_turnover + tolerance:
            found.append(f"max_turnover: one-way turnover {turnover} above {limits.max_turnover}")
    if limits.min_trade_size is not None:
        found.extend(_small_trades(weights, current, universe, limits.min_trade_size, tolerance))
    found.extend(_per_asset(weights, current, universe, limits, tolerance))
    return found


def _per_asset(
    w: np.ndarray, current: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    """The per-asset rules, tested on whole arrays; words only for the assets that break one
    (in asset order, each asset's in the order the rules are listed)."""
    n = universe.size
    score = universe.score
    fixed = universe.fixed_weight if universe.fixed_weight is not None else np.full(n, np.nan)
    pinned = ~np.isnan(fixed)
    held = current != 0  # long or short
    minimum_days = limits.min_holding_days
    young = np.zeros(n, dtype=bool)
    frozen = np.zeros(n)
    if minimum_days is not None and universe.days_held is not None:
        young = ~pinned & held & (universe.days_held < minimum_days)
        frozen = np.minimum(current, limits.max_single_position or 1.0)
        if universe.max_weight is not None:
            bounded = ~np.isnan(universe.max_weight)
            frozen = np.where(bounded, np.minimum(frozen, universe.max_weight), frozen)
    placed = ~pinned & ~young & (w != 0)
    opened, kept = placed & ~held, placed & held
    keep = limits.min_score_threshold
    entry = max([t for t in (keep, limits.min_score_new_position) if t is not None], default=None)
    confidence = universe.trending_confidence
    below = universe.days_below_threshold
    grace = limits.grace_period_days
    under_keep = kept & (score < keep) if keep is not None else np.zeros(n, dtype=bool)
    in_grace = np.zeros(n, dtype=bool)
    cap = current
    if grace is not None and below is not None:
        in_grace = ~(below >= grace)
        cap = current * np.where(below >= 1, limits.grace_decay_rate, 1.0)
    names = universe.assets
    entry_field = "min_score_threshold" if entry == keep else "min_score_new_position"
    checks = [
        (
            pinned & (np.abs(w - fixed) > tolerance),
            lambda i: f"fixed_weight {names[i]}: {float(w[i])} instead of {fixed[i]}",
        ),
        (
            young & (np.abs(w - frozen) > tolerance),
            lambda i: f"min_holding_days {names[i]}: {float(w[i])} instead of {frozen[i]}",
        ),
        (
            opened & (score < entry) if entry is not None else None,
            lambda i: f"{entry_field} {names[i]}: score {float(score[i])} opened at {float(w[i])}",
        ),
        (
            _confidence_below(opened, confidence, limits.min_confidence_new),
            lambda i: f"min_confidence_new {names[i]}: opened at {float(w[i])}",
        ),
        (
            _confidence_below(kept, confidence, limits.min_confidence_existing),
            lambda i: f"min_confidence_existing {names[i]}: held at {float(w[i])}",
        ),
        (
            under_keep & ~in_grace,
            lambda i: (
                f"min_score_threshold {names[i]}: score {float(score[i])} held at {float(w[i])}"
            ),
        ),
        (
            under_keep & in_grace & (w > cap + tolerance),
            lambda i: f"grace {names[i]}: {float(w[i])} above {cap[i]}",
        ),
    ]
    broken = [(mask, say) for mask, say in checks if mask is not None]
    found: list[str] = []
    for i in np.flatnonzero(np.logical_or.reduce([mask for mask, _ in broken])):
        found.extend(say(int(i)) for mask, say in broken if mask[i])
    return found


def _confidence_below(
    chosen: np.ndarray, confidence: np.ndarray | None, floor: float | None
) -> np.ndarray | None:
    if floor is None or confidence is None:
        return None
    return chosen & (confidence < floor)


def _small_trades(
    weights: np.ndarray, current: np.ndarray, universe: Universe, minimum: float, tolerance: float
) -> list[str]:
    """Trades neither zero, nor at least ``minimum``, nor a close of a smaller position."""
    change = np.abs(weights - current)
    closed = (weights <= tolerance) & (current < minimum)
    small = (change > tolerance) & (change < minimum - tolerance) & ~closed
    return [
        f"min_trade_size {universe.assets[int(i)]}: traded {change[i]} < {minimum}"
        for i in np.flatnonzero(small)
    ]
