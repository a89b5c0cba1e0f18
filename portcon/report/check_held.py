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
    fixed = universe.fixed_weight if universe.fixed_weight is not None else np.full(n, np.nan)
    days = universe.days_held
    below = universe.days_below_threshold
    confidence = universe.trending_confidence
    keep = limits.min_score_threshold
    entry = max([t for t in (keep, limits.min_score_new_position) if t is not None], default=None)
    for i in range(n):
        name, w, score = str(universe.assets[i]), float(weights[i]), float(universe.score[i])
        if not np.isnan(fixed[i]):
            if abs(w - fixed[i]) > tolerance:
                found.append(f"fixed_weight {name}: {w} instead of {fixed[i]}")
            continue
        held = current[i] != 0  # long or short
        young = held and limits.min_holding_days is not None and days is not None
        if young and days is not None and days[i] < (limits.min_holding_days or 0):
            frozen = min(current[i], limits.max_single_position or 1.0)
            if universe.max_weight is not None and not np.isnan(universe.max_weight[i]):
                frozen = min(frozen, universe.max_weight[i])
            if abs(w - frozen) > tolerance:
                found.append(f"min_holding_days {name}: {w} instead of {frozen}")
            continue
        if w == 0:
            continue
        if not held:
            if entry is not None and score < entry:
                field = "min_score_threshold" if entry == keep else "min_score_new_position"
                found.append(f"{field} {name}: score {score} opened at {w}")
            floor = limits.min_confidence_new
            if floor is not None and confidence is not None and confidence[i] < floor:
                found.append(f"min_confidence_new {name}: opened at {w}")
            continue
        floor = limits.min_confidence_existing
        if floor is not None and confidence is not None and confidence[i] < floor:
            found.append(f"min_confidence_existing {name}: held at {w}")
        if keep is None or score >= keep:
            continue
        grace = limits.grace_period_days
        if grace is None or below is None or below[i] >= grace:
            found.append(f"min_score_threshold {name}: score {score} held at {w}")
            continue
        cap = current[i] * (limits.grace_decay_rate if below[i] >= 1 else 1.0)
        if w > cap + tolerance:
            found.append(f"grace {name}: {w} above {cap}")
    return found


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
