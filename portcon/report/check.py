"""An independent check that a portfolio satisfies its limits, in plain numpy.

This module deliberately shares no code with the rule objects or the optimizer: it reads the
Limits and the Universe directly and recomputes every bound, so a bug in how a rule is stated
to the solver cannot hide itself here.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from portcon.limits import Limits
from portcon.market import MarketData
from portcon.report.check_benchmark import benchmark_violations
from portcon.report.check_exposure import exposure_violations
from portcon.report.check_floors import floor_violations
from portcon.report.check_groups import grouped
from portcon.report.check_held import held_violations
from portcon.report.check_sizing import sizing_violations
from portcon.report.check_tail import tail_violations
from portcon.universe import Universe

TOLERANCE = 1e-8


def violations(
    weights: np.ndarray,
    universe: Universe,
    limits: Limits,
    tolerance: float = TOLERANCE,
    market: MarketData | None = None,
    correlation: np.ndarray | None = None,
    balanced: Collection[str] | None = None,
    members: np.ndarray | None = None,
) -> list[str]:
    """Every limit the weights break by more than ``tolerance``, in words (empty when none).

    ``market`` (universe order) is needed to check ``max_portfolio_volatility`` and
    ``min_expected_return``, ``correlation`` (universe order) to check ``correlation_limit``;
    a limit whose data is missing is reported as a violation rather than passed unchecked.
    ``balanced`` names the buckets ``bucket_balance_tolerance`` covers (those with an
    eligible asset); without it, every bucket of the universe. ``members`` (universe
    positions) are the assets that were sized, for the raw sizes of the residual caps; without
    them, those the score thresholds admit.
    """
    w = np.asarray(weights, dtype=float)
    found: list[str] = []

    def over(value: float, bound: float, what: str) -> None:
        if value > bound + tolerance:
            found.append(f"{what}: {value:.10f} > {bound:.10f}")

    if not np.all(np.isfinite(w)):
        return ["weights are not all finite"]
    cap = limits.max_single_position
    suspects = (-w > tolerance) | (w > (np.inf if cap is None else cap + tolerance))
    for position in np.flatnonzero(suspects):  # the rest pass both tests: no words to build
        name, weight = str(universe.assets[int(position)]), w[position]
        if cap is not None:
            over(weight, cap, f"max_single_position {name}")
    over(float(w.sum()), limits.target_allocation, "target_allocation")
    found.extend(held_violations(w, universe, limits, tolerance))
    found.extend(floor_violations(w, universe, limits, tolerance))
    found.extend(exposure_violations(w, universe, limits, tolerance))
    found.extend(benchmark_violations(w, universe, limits, tolerance, market))
    sector_capped = limits.sector_caps or limits.max_sector_allocation is not None
    if universe.sector is not None and sector_capped:  # else no sector has a cap to break
        names, order, starts = grouped(universe.sector)
        for k, group in enumerate(names):
            cap = limits.sector_caps.get(group, limits.max_sector_allocation)
            if cap is not None:
                members = order[starts[k] : starts[k + 1]]
                over(float(w[members].sum()), cap, f"sector cap {group}")
    found.extend(_bucket_violations(w, universe, limits, tolerance))
    found.extend(_balance_violations(w, universe, limits, tolerance, balanced))
    found.extend(sizing_violations(w, universe, limits, tolerance, members, market))
    found.extend(_bound_violations(w, universe, tolerance))
    found.extend(_count_violations(w, universe, limits, tolerance, correlation))
    market = market or MarketData()
    if limits.max_portfolio_volatility is not None:
        if not market.has_risk:
            found.append("max_portfolio_volatility: no risk model to check it against")
        else:
            exposures, specific = market.require_risk()
            factor_part = exposures.T @ w
            variance = float(factor_part @ factor_part + np.sum((specific * w) ** 2))
            volatility = float(np.sqrt(max(variance, 0.0)))
            over(volatility, limits.max_portfolio_volatility, "max_portfolio_volatility")
    if limits.min_expected_return is not None:
        if market.expected_returns is None:
            found.append("min_expected_return: no expected returns to check it against")
        else:
            achieved = float(market.expected_returns @ w)
            over(limits.min_expected_return, achieved, "min_expected_return")
    found.extend(tail_violations(w, limits, market, tolerance))
    return found


HELD = 1e-10
REPRESENTED = 1e-4


def _bound_violations(w: np.ndarray, universe: Universe, tolerance: float) -> list[str]:
    found = []
    held = w > HELD
    for column, values in (
        ("min_weight", universe.min_weight),
        ("max_weight", universe.max_weight),
    ):
        if values is None:
            continue
        if column == "min_weight":  # NaN (no bound) compares False: never broken
            broken = held & (w < values - tolerance)
        else:
            broken = w > values + tolerance
        for position in np.flatnonzero(broken):
            bound = values[position]
            found.append(f"{column} {universe.assets[int(position)]}: {w[position]} vs {bound}")
    return found


def _count_violations(
    w: np.ndarray,
    universe: Universe,
    limits: Limits,
    tolerance: float,
    correlation: np.ndarray | None,
) -> list[str]:
    found = []
    held = np.abs(w) > HELD  # a short is a position too
    existing = (
        np.zeros(universe.size, dtype=bool)
        if universe.current_weight is None
        else universe.current_weight > 0
    )
    if limits.max_total_positions is not None and held.sum() > limits.max_total_positions:
        found.append(f"max_total_positions: {held.sum()} held > {limits.max_total_positions}")
    new = held & ~existing
    if limits.max_new_positions is not None and new.sum() > limits.max_new_positions:
        found.append(f"max_new_positions: {new.sum()} new > {limits.max_new_positions}")
    if limits.min_position_size is not None:
        for position in np.flatnonzero(held & (w < limits.min_position_size - tolerance)):
            found.append(f"min_position_size {universe.assets[int(position)]}: {w[position]}")
    buckets = universe.bucket
    if limits.min_buckets_represented is not None:
        floor = limits.min_position_size or REPRESENTED
        represented = set() if buckets is None else set(buckets[w >= floor - tolerance])
        if len(represented) < limits.min_buckets_represented:
            found.append(
                f"min_buckets_represented: {len(represented)} < {limits.min_buckets_represented}"
            )
    if limits.correlation_limit is not None:
        if correlation is None:
            found.append("correlation_limit: no correlation to check it against")
        else:
            positions = np.flatnonzero(held)
            for a, i in enumerate(positions):
                for j in positions[a + 1 :]:
                    if correlation[i, j] > limits.correlation_limit + tolerance:
                        found.append(
                            f"correlation_limit: {universe.assets[int(i)]} and "
                            f"{universe.assets[int(j)]} "
                            f"correlate {correlation[i, j]:.4f}"
                        )
    return found


def _bucket_violations(
    w: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    """Bucket allocation caps and position counts, allowing bucket overrides.

    Every bucket's cap holds for all its members. A bucket holding e names past its position
    count needs e overrides, and (the seed fills slots by score, so the names past the count
    are its lowest) every name it holds must score at or above bucket_override_threshold;
    all buckets together may use at most max_bucket_overrides.
    """
    buckets = universe.bucket
    if buckets is None:
        return []
    held = np.abs(w) > HELD
    existing = (
        np.zeros(universe.size, dtype=bool)
        if universe.current_weight is None
        else universe.current_weight > 0
    )
    threshold = limits.bucket_override_threshold
    eligible = (
        universe.score >= threshold if threshold is not None else np.zeros(universe.size, bool)
    )
    counted = held & (~existing if limits.allow_bucket_overflow else True)
    names, order, starts = grouped(buckets)
    found, used = [], 0
    for k, bucket in enumerate(names):
        inside = order[starts[k] : starts[k + 1]]  # the bucket's positions, in asset order
        cap = limits.bucket_caps.get(bucket, limits.max_bucket_allocation)
        weight = float(w[inside].sum())
        if cap is not None and weight > cap + tolerance:
            found.append(f"bucket cap {bucket}: {weight:.10f} > {cap:.10f}")
        limit = limits.bucket_position_limits.get(bucket, limits.max_positions_per_bucket)
        if limit is None:
            continue
        if limits.allow_bucket_overflow:
            limit = max(0, limit - int(existing[inside].sum()))
        count = int(counted[inside].sum())
        excess = count - limit
        if excess > 0 and np.any(counted[inside] & ~eligible[inside]):
            found.append(f"bucket count {bucket}: {count} > {limit}")
        elif excess > 0:
            used += excess
    allowed = limits.max_bucket_overrides if threshold is not None else 0
    if used > allowed:
        found.append(f"bucket overrides: {used} needed > {allowed} allowed")
    return found


def _balance_violations(
    w: np.ndarray,
    universe: Universe,
    limits: Limits,
    tolerance: float,
    balanced: Collection[str] | None,
) -> list[str]:
    """|bucket weight − invested / B| ≤ bucket_balance_tolerance for each covered bucket."""
    allowed = limits.bucket_balance_tolerance
    if allowed is None or universe.bucket is None:
        return []
    labels = np.array([str(b) for b in universe.bucket], dtype=object)
    covered = sorted(set(labels) if balanced is None else set(balanced))
    if len(covered) < 2:
        return []
    share = float(w.sum()) / len(covered)
    found = []
    for bucket in covered:
        weight = float(sum(w[labels == bucket].tolist()))  # in asset order, as Python adds
        if abs(weight - share) > allowed + tolerance:
            found.append(
                f"bucket_balance_tolerance {bucket}: {weight:.10f} is {abs(weight - share):.10f} "
                f"from the equal share {share:.10f} > {allowed:.10f}"
            )
    return found
