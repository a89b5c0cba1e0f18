"""An independent check that a portfolio satisfies its limits, in plain numpy.

This module deliberately shares no code with the rule objects or the optimizer: it reads the
Limits and the Universe directly and recomputes every bound, so a bug in how a rule is stated
to the solver cannot hide itself here.
"""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits, ResidualStrategy, SizingMode
from portcon.market import MarketData
from portcon.universe import Universe

TOLERANCE = 1e-8


def violations(
    weights: np.ndarray,
    universe: Universe,
    limits: Limits,
    tolerance: float = TOLERANCE,
    market: MarketData | None = None,
) -> list[str]:
    """Every limit the weights break by more than ``tolerance``, in words (empty when none).

    ``market`` (universe order) is needed to check ``max_portfolio_volatility`` and
    ``min_expected_return``; a limit whose data is missing is reported as a violation rather
    than passed unchecked.
    """
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
    market = market or MarketData()
    if limits.max_portfolio_volatility is not None:
        if not market.has_risk:
            found.append("max_portfolio_volatility: no risk model to check it against")
        else:
            factor_part = market.exposures.T @ w
            variance = float(factor_part @ factor_part + np.sum((market.specific * w) ** 2))
            volatility = float(np.sqrt(max(variance, 0.0)))
            over(volatility, limits.max_portfolio_volatility, "max_portfolio_volatility")
    if limits.min_expected_return is not None:
        if market.expected_returns is None:
            found.append("min_expected_return: no expected returns to check it against")
        else:
            achieved = float(market.expected_returns @ w)
            over(limits.min_expected_return, achieved, "min_expected_return")
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
