"""What a score sizing mode does with the part of the target its raw sizes leave.

Stage one gives every candidate a raw size: absolute for ``tiered`` (base × tier multiplier)
and for ``adaptive`` or ``equal_weight`` with a ``base_position_size``; otherwise
``target_allocation`` × its share (its raw share over the sum of the candidates'). The
residual strategy then places what the raw sizes leave once the limits cap them, or scales
them down when they overflow the target:

- proportional: every position scaled by the same factor within its limits, minimise
  ½ Σ w²/m with m ∝ raw (the cap-then-renormalise loop run to its fixed point);
- cash: raw sizes held where they fit, the rest in cash, minimise ½ Σ (w − r)²/r;
- top_slice: raw sizes first, then the residual to the highest scores first within
  ``max_residual_per_asset`` and ``max_residual_multiple``, then cash.

``auto`` is top_slice for absolute sizes (the seed's default) and proportional for shares
(what those modes always did: cash only where every position is at a limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portcon.limits import Limits, ResidualStrategy
from portcon.sizing.objectives import (
    Proportional,
    SizingObjective,
    TieredDeviation,
    TieredTopSlice,
)


@dataclass(frozen=True)
class StageOne:
    """Absolute raw sizes and how they move with the Limits field they scale with.

    Attributes
    ----------
    sizes
        Raw size per candidate, a fraction of the portfolio.
    base_field
        ``base_position_size`` when given, else ``target_allocation``.
    per_base
        ∂size/∂base_field per candidate (the sizes are linear in it).
    """

    sizes: np.ndarray
    base_field: str
    per_base: np.ndarray


def resolved_strategy(limits: Limits, absolute: bool) -> ResidualStrategy:
    """The strategy in force: the one given, or ``auto``'s choice for these raw sizes."""
    if limits.residual_strategy != ResidualStrategy.AUTO:
        return limits.residual_strategy
    return ResidualStrategy.TOP_SLICE if absolute else ResidualStrategy.PROPORTIONAL


def stage_one(raw: np.ndarray, limits: Limits, absolute: bool) -> StageOne:
    """Absolute raw sizes from a mode's raw sizes (absolute already) or shares."""
    raw = np.asarray(raw, dtype=float)
    if absolute and limits.base_position_size is not None:
        base = limits.base_position_size
        return StageOne(raw, "base_position_size", raw / base)
    target = limits.target_allocation
    if absolute:  # tiered without a base: target / number eligible × multiplier
        return StageOne(raw, "target_allocation", raw / target)
    shares = raw / float(raw.sum())
    return StageOne(target * shares, "target_allocation", shares)


def residual_objective(
    raw: np.ndarray, score: np.ndarray, limits: Limits, *, absolute: bool, raw_name: str
) -> SizingObjective:
    """The objective of the residual strategy in force over these raw sizes."""
    strategy = resolved_strategy(limits, absolute)
    if strategy == ResidualStrategy.PROPORTIONAL:
        return Proportional.from_raw(raw)
    first = stage_one(raw, limits, absolute)
    if strategy == ResidualStrategy.CASH:
        return TieredDeviation(
            raw=first.sizes,
            base_field=first.base_field,
            raw_per_base=first.per_base,
            raw_name=raw_name,
        )
    return TieredTopSlice(
        raw=first.sizes,
        base_field=first.base_field,
        raw_per_base=first.per_base,
        raw_name=raw_name,
        priority=top_slice_priority(score),
    )


def top_slice_priority(score: np.ndarray) -> np.ndarray:
    """Priorities in [½, 1], strictly increasing with score (the top-slice order)."""
    low, high = float(score.min()), float(score.max())
    if high - low <= 0:
        return np.ones_like(score, dtype=float)
    return 0.5 + 0.5 * (score - low) / (high - low)
