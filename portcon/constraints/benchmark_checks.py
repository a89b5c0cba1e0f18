"""Compile-time checks of the benchmark-relative limits, and the rules they become.

Every benchmark field needs the scores' ``benchmark_weight`` column; ``max_tracking_error``
needs a risk model. An asset (or a group) that is not in the program keeps w = 0, so its
active weight is −b: when that alone breaks an active bound, no weights can repair it, and
the error names the asset, why it is out, and the two ways to fix it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from portcon._text import listing, percent
from portcon.constraints.base import Rule
from portcon.constraints.benchmark import ACTIVE, ActiveBounds, ActiveRisk, TrackingErrorCap
from portcon.constraints.keys import GroupKind, LimitKey
from portcon.errors import LimitsError
from portcon.limits import Limits, SizingMode
from portcon.limits.benchmark_fields import BENCHMARK_FIELDS
from portcon.market import MarketData
from portcon.universe import Universe

ACTIVE_GROUP_FIELDS = (
    (GroupKind.BUCKET, "max_active_bucket_allocation", "active_bucket_caps"),
    (GroupKind.SECTOR, "max_active_sector_allocation", "active_sector_caps"),
)
RATIO_MODES = (SizingMode.MAX_SHARPE, SizingMode.MAX_DIVERSIFICATION)
RELATIVE_MODES = (SizingMode.MIN_TRACKING_ERROR, SizingMode.ACTIVE_MEAN_VARIANCE)
TOLERANCE = 1e-12


def benchmark_in_use(limits: Limits) -> list[str]:
    """The benchmark fields ``limits`` sets."""
    return [
        field
        for field in BENCHMARK_FIELDS
        if getattr(limits, field) is not None and getattr(limits, field) != {}
    ]


def require_benchmark(universe: Universe, limits: Limits) -> np.ndarray | None:
    """The benchmark column, checked against the fields that need it (None when unused).

    Raises
    ------
    LimitsError
        When a benchmark field or mode is set without the column, or max_tracking_error with a mode
        solved homogenised (max_sharpe, max_diversification).
    """
    used = benchmark_in_use(limits)
    if limits.sizing_mode in RELATIVE_MODES:
        used.insert(0, f"sizing_mode '{limits.sizing_mode}'")
    if used and universe.benchmark_weight is None:
        raise LimitsError(
            f"{listing(used)} compare the book with a benchmark, but the scores have no "
            "'benchmark_weight' column; add one (each asset's weight in the benchmark, blank "
            "for none) or switch the limit off"
        )
    if limits.max_tracking_error is not None and limits.sizing_mode in RATIO_MODES:
        raise LimitsError(
            f"max_tracking_error with sizing_mode '{limits.sizing_mode}' is not supported: the "
            "ratio is maximised in homogenised form, where the benchmark would have to scale "
            "with the portfolio; use active_mean_variance (or mean_variance) with the cap"
        )
    return universe.benchmark_weight


def benchmark_rules(
    universe: Universe, limits: Limits, members: np.ndarray, market: MarketData
) -> list[Rule]:
    """The tracking-error cap and active bounds over the members (universe-wide ``market``).

    Raises
    ------
    LimitsError
        See :func:`require_benchmark`; also when max_tracking_error has no risk model, or an
        asset or group outside the program breaks an active bound by its benchmark weight.
    """
    benchmark = require_benchmark(universe, limits)
    if benchmark is None or not len(members):
        return []
    rules: list[Rule] = []
    if limits.max_tracking_error is not None:
        if not market.has_risk:
            raise LimitsError(
                "max_tracking_error needs a risk model: pass returns=, covariance= or "
                "factor_model= (--returns or --covariance on the command line)"
            )
        active = ActiveRisk.of(*market.require_risk(), benchmark, members)
        rules.append(TrackingErrorCap(active, limits.max_tracking_error))
    shorts = limits.allow_short or universe.max_short_weight is not None
    if limits.max_active_weight is not None:
        rules.append(_asset_bounds(universe, limits.max_active_weight, members, shorts))
    for kind, every, named in ACTIVE_GROUP_FIELDS:
        rules.extend(_group_bounds(universe, limits, kind, every, named, members, shorts))
    return rules


def _asset_bounds(
    universe: Universe, allowed: float, members: np.ndarray, shorts: bool
) -> ActiveBounds:
    benchmark = np.asarray(universe.benchmark_weight)
    outside = np.setdiff1d(np.arange(universe.size), members)
    broken = outside[benchmark[outside] > allowed + TOLERANCE]
    if len(broken):
        largest = float(benchmark[broken].max())
        raise LimitsError(
            f"max_active_weight {percent(allowed)}: {listing(universe.assets[broken])} "
            f"{'is' if len(broken) == 1 else 'are'} in the benchmark (up to {percent(largest)}) "
            "but not in the book (below a score threshold, or excluded): lower "
            f"min_score_threshold so they can be held, or raise max_active_weight to at least "
            f"{percent(largest)}"
        )
    center = benchmark[members]
    size = len(members)
    return ActiveBounds(
        rule=ACTIVE,
        subjects=tuple(str(a) for a in universe.assets[members]),
        rows=sp.eye_array(size, format="csr"),
        center=center,
        allowed=np.full(size, allowed),
        lower=(center - allowed > 0) | shorts,
        keys=(LimitKey(ACTIVE),) * size,
    )


def _group_bounds(
    universe: Universe,
    limits: Limits,
    kind: GroupKind,
    every: str,
    named: str,
    members: np.ndarray,
    shorts: bool,
) -> list[Rule]:
    global_cap, overrides = getattr(limits, every), dict(getattr(limits, named))
    if global_cap is None and not overrides:
        return []
    labels = universe.groups(kind)
    if labels is None:
        used = every if global_cap is not None else named
        raise LimitsError(
            f"{used} is set but the scores have no '{kind}' column; add the column or switch "
            "the limit off"
        )
    unknown = sorted(set(overrides) - set(labels))
    if unknown:
        raise LimitsError(f"{named} names {kind}(s) {listing(unknown)} not in the scores")
    benchmark = np.asarray(universe.benchmark_weight)
    rules: list[Rule] = []
    for field, groups in (
        (every, [g for g in dict.fromkeys(labels) if g not in overrides and global_cap]),
        (named, [g for g in dict.fromkeys(labels) if g in overrides]),
    ):
        chosen, rows, center, allowed = [], [], [], []
        for group in groups:
            cap = float(overrides.get(group, global_cap))
            inside = labels == group
            weight = float(benchmark[inside].sum())
            row = inside[members].astype(float)
            if not row.any():
                if weight > cap + TOLERANCE:
                    raise LimitsError(
                        f"{field}: {kind} {group} has benchmark weight {percent(weight)} but no "
                        f"asset of it is in the book, an active weight of −{percent(weight)} "
                        f"beyond {percent(cap)}; lower min_score_threshold or raise {field}"
                    )
                continue
            chosen.append(group)
            rows.append(row)
            center.append(weight)
            allowed.append(cap)
        if not chosen:
            continue
        middle, room = np.array(center), np.array(allowed)
        rules.append(
            ActiveBounds(
                rule=field,
                subjects=tuple(chosen),
                rows=sp.csr_array(np.array(rows)),
                center=middle,
                allowed=room,
                lower=(middle - room > 0) | shorts,
                keys=tuple(
                    LimitKey(field) if field == every else LimitKey(field, g) for g in chosen
                ),
            )
        )
    return rules
