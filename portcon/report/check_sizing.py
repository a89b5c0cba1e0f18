"""The independent check of the sizing rules, in plain numpy (shares no code with
portcon.sizing): tiered assets below every tier, and the top-slice residual caps.

The raw sizes are recomputed here from the Limits and the scores: tier multiplier × base,
base × (1 + score/Σscore), base each, or target × share (equal, score, adaptive,
score / volatility, tilted by 1/σ under volatility_position_scaling), with a position opened
now × size_adjustment_factor. A raw size over the members (the assets that were sized) needs
them: :func:`portcon.construct` passes its members; without them the members are the assets
at or above the score thresholds (the tiered ones for tiered).
"""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits, ResidualStrategy, SizingMode
from portcon.market import MarketData
from portcon.universe import Universe

SHARE_MODES = ("equal_weight", "score_weighted", "adaptive", "inverse_volatility")
BASE_MODES = ("tiered", "adaptive", "equal_weight")


def sizing_violations(
    w: np.ndarray,
    universe: Universe,
    limits: Limits,
    tolerance: float,
    members: np.ndarray | None = None,
    market: MarketData | None = None,
) -> list[str]:
    """Tiered assets held below every tier, and weights above the top-slice residual caps
    (in total at most ``rollover_threshold`` above them, the cash it reinvested)."""
    found: list[str] = []
    multiplier = _tier_multipliers(universe, limits)
    if limits.sizing_mode == SizingMode.TIERED:
        for position in np.flatnonzero((multiplier == 0) & (w != 0)):
            found.append(f"tiered {universe.assets[int(position)]}: below every tier but held")
    if _strategy(limits) != ResidualStrategy.TOP_SLICE:
        return found
    sized = _members(universe, limits, multiplier, members)
    raw = _raw_sizes(universe, limits, multiplier, sized, market)
    if raw is None:
        return [*found, "top_slice residual: no volatilities to recompute the raw sizes"]
    ceiling = np.minimum(
        raw + limits.max_residual_per_asset, (1 + limits.max_residual_multiple) * raw
    )
    excess = np.where(raw > 0, np.maximum(w - ceiling, 0.0), 0.0)
    threshold = limits.rollover_threshold
    if threshold is not None:
        if excess.sum() > threshold + tolerance:
            found.append(
                f"top_slice residual: {excess.sum():.10f} above the residual caps in total, "
                f"more than rollover_threshold {threshold:.10f} reinvests"
            )
        return found
    for position in np.flatnonzero(excess > tolerance):
        found.append(
            f"top_slice residual {universe.assets[int(position)]}: {w[position]:.10f} > "
            f"{ceiling[position]:.10f}"
        )
    return found


def _strategy(limits: Limits) -> ResidualStrategy | None:
    """The residual strategy in force (None for the modes sized by a risk model)."""
    mode = str(limits.sizing_mode)
    absolute = mode == "tiered" or (mode in BASE_MODES and limits.base_position_size is not None)
    if mode not in (*SHARE_MODES, "tiered"):
        return None
    if limits.residual_strategy != ResidualStrategy.AUTO:
        return limits.residual_strategy
    return ResidualStrategy.TOP_SLICE if absolute else ResidualStrategy.PROPORTIONAL


def _tier_multipliers(universe: Universe, limits: Limits) -> np.ndarray:
    """The multiplier of the first tier each score reaches (0 below the last or the
    score threshold)."""
    multiplier = np.zeros(universe.size)
    score = universe.score
    open_ = np.ones(universe.size, dtype=bool)  # no tier taken yet
    if limits.min_score_threshold is not None:
        open_ &= score >= limits.min_score_threshold
    for threshold, tier_multiplier in limits.score_tiers:
        taken = open_ & (score >= threshold)
        multiplier[taken] = tier_multiplier
        open_ &= ~taken
    return multiplier


def _members(
    universe: Universe, limits: Limits, multiplier: np.ndarray, members: np.ndarray | None
) -> np.ndarray:
    """A mask of the sized assets: ``members`` when given, else those the thresholds admit."""
    if members is not None:
        mask = np.zeros(universe.size, dtype=bool)
        mask[np.asarray(members, dtype=int)] = True
        return mask
    if limits.sizing_mode == SizingMode.TIERED:
        return multiplier > 0
    entry = [t for t in (limits.min_score_threshold, limits.min_score_new_position) if t]
    held = universe.held
    keep = limits.min_score_threshold or 0.0
    return np.where(held, universe.score >= keep, universe.score >= max(entry, default=0.0))


def _raw_sizes(
    universe: Universe,
    limits: Limits,
    multiplier: np.ndarray,
    sized: np.ndarray,
    market: MarketData | None,
) -> np.ndarray | None:
    """Absolute raw size per asset (0 outside ``sized``); None when volatilities are missing."""
    mode, base = str(limits.sizing_mode), limits.base_position_size
    score = np.where(sized, universe.score, 0.0)
    count = int(sized.sum())
    if mode == "tiered":
        tiered = multiplier * sized
        raw = (base or limits.target_allocation / max(int(np.count_nonzero(tiered)), 1)) * tiered
    elif mode == "adaptive":
        total = score.sum()
        raw = np.maximum(1 + score / total, 0) if total > 0 else np.ones(universe.size)
    elif mode == "equal_weight":
        raw = np.ones(universe.size)
    else:
        raw = np.maximum(score, 0.0)
    for tilted in (mode == "inverse_volatility", limits.volatility_position_scaling):
        if tilted:
            volatility = _volatility(universe, market)
            if volatility is None:
                return None
            raw = raw / np.maximum(np.where(sized, volatility, 1.0), 1e-12)
    raw = np.where(sized, raw, 0.0)
    factor, current = limits.size_adjustment_factor, universe.current_weight
    if factor is not None and current is not None:
        raw = np.where(current > 0, raw, factor * raw)
    if mode != "tiered" and base is not None:
        return base * raw
    if mode == "tiered" or count == 0 or raw.sum() <= 0:
        return raw
    return limits.target_allocation * raw / raw.sum()


def _volatility(universe: Universe, market: MarketData | None) -> np.ndarray | None:
    if universe.volatility is not None:
        return universe.volatility
    if market is not None and market.has_risk:
        return market.volatility()
    return None
