"""An independent check that a portfolio satisfies its limits, in plain numpy.

This module deliberately shares no code with the rule objects or the optimizer: it reads the
Limits and the Universe directly and recomputes every bound, so a bug in how a rule is stated
to the solver cannot hide itself here.
"""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits, ResidualStrategy, SizingMode
from portcon.universe import Universe

TOLERANCE = 1e-8


def violations(
    weights: np.ndarray, universe: Universe, limits: Limits, tolerance: float = TOLERANCE
) -> list[str]:
    """Every limit the weights break by more than ``tolerance``, in words (empty when none)."""
    w = np.asarray(weights, dtype=float)
    names = [str(a) for a in universe.assets]
    found: list[str] = []

    def over(value: float, bound: float, what: str) -> None:
        if value > bound + tolerance:
            found.append(f"{what}: {value:.10f} > {bound:.10f}")

    if not np.all(np.isfinite(w)):
        return ["weights are not all finite"]
    for name, weight in zip(names, w, strict=True):
        over(-weight, 0.0, f"long_only {name}")
        if limits.max_single_position is not None:
            over(weight, limits.max_single_position, f"max_single_position {name}")
    over(float(w.sum()), limits.target_allocation, "target_allocation")
    if limits.min_score_threshold is not None:
        for name, weight, score in zip(names, w, universe.score, strict=True):
            if score < limits.min_score_threshold and weight != 0:
                found.append(f"min_score_threshold {name}: score {score} held at {weight}")
    for kind, global_cap, overrides in (
        ("bucket", limits.max_bucket_allocation, limits.bucket_caps),
        ("sector", limits.max_sector_allocation, limits.sector_caps),
    ):
        labels = universe.groups(kind)
        if labels is None:
            continue
        for group in set(labels):
            cap = overrides.get(group, global_cap)
            if cap is not None:
                over(float(w[labels == group].sum()), cap, f"{kind} cap {group}")
    if limits.sizing_mode == SizingMode.TIERED:
        found.extend(_tier_violations(w, universe, limits, tolerance))
    return found


def _tier_violations(
    w: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    found = []
    multiplier = np.zeros(universe.size)
    for position, score in enumerate(universe.score):
        passes = limits.min_score_threshold is None or score >= limits.min_score_threshold
        for threshold, tier_multiplier in limits.score_tiers:
            if passes and score >= threshold:
                multiplier[position] = tier_multiplier
                break
    for position in np.flatnonzero((multiplier == 0) & (w != 0)):
        found.append(f"tiered {universe.assets[position]}: below every tier but held")
    if limits.residual_strategy != ResidualStrategy.TOP_SLICE:
        return found
    held = int(np.count_nonzero(multiplier))
    base = limits.base_position_size or limits.target_allocation / max(held, 1)
    raw = base * multiplier
    ceiling = np.minimum(
        raw + limits.max_residual_per_asset, (1 + limits.max_residual_multiple) * raw
    )
    for position in np.flatnonzero(w > ceiling + tolerance):
        found.append(
            f"top_slice residual {universe.assets[position]}: {w[position]:.10f} > "
            f"{ceiling[position]:.10f}"
        )
    return found
