"""Which assets may go short, checked against the sizing mode, and the long-short rules.

The ``max_short_weight`` column decides per asset where it has a value (0: long only); the
Limits decide for the rest (``allow_short``, each down to −``max_short_position``, no cap
when that is None). Everything that needs the scores is checked here, when a program is
compiled, and raises a :class:`~portcon.errors.LimitsError` naming the assets and the fix.
"""

from __future__ import annotations

import numpy as np

from portcon._text import listing
from portcon.constraints.base import Rule
from portcon.constraints.exposure import (
    ColumnShortLimit,
    GrossExposure,
    NetExposureRange,
    ShortLimit,
)
from portcon.constraints.keys import LimitKey
from portcon.constraints.portfolio import TargetAllocation
from portcon.constraints.positions import LongOnly
from portcon.errors import LimitsError
from portcon.limits import Limits
from portcon.limits.exposure_fields import SHORT_MODES, short_mode_message
from portcon.universe import Universe


def short_room(universe: Universe, limits: Limits) -> np.ndarray:
    """Per universe asset, the largest short it may take: 0 long only, inf no per-asset cap."""
    room = np.full(universe.size, 0.0)
    if limits.allow_short:
        room[:] = np.inf if limits.max_short_position is None else limits.max_short_position
    column = universe.max_short_weight
    if column is not None:
        room = np.where(np.isnan(column), room, column)
    return room


def shorts_possible(universe: Universe, limits: Limits) -> bool:
    """True when some asset of the universe may go short."""
    return bool(np.any(short_room(universe, limits) > 0))


def check_short_mode(universe: Universe, limits: Limits, members: np.ndarray) -> None:
    """A member that may go short needs a sizing mode that can price a short."""
    room = short_room(universe, limits)[members]
    if limits.sizing_mode in SHORT_MODES or not np.any(room > 0):
        return
    shortable = [str(universe.assets[p]) for p in members[room > 0]]
    source = f"the max_short_weight column (for {listing(shortable)})"
    raise LimitsError(short_mode_message(limits.sizing_mode, source))


def budget_and_short_rules(
    universe: Universe, limits: Limits, members: np.ndarray, assets: tuple[str, ...]
) -> list[Rule]:
    """The budget (target or net range), long_only rows and short caps over the members."""
    size = len(assets)
    rules: list[Rule] = []
    if limits.min_net_exposure is None:
        rules.append(
            TargetAllocation(
                size=size, target=limits.target_allocation, rollover=limits.allow_cash_rollover
            )
        )
    else:
        rules.append(
            NetExposureRange(
                size=size, target=limits.target_allocation, floor=limits.min_net_exposure
            )
        )
    room = short_room(universe, limits)[members]
    if not np.any(room > 0):
        rules.append(LongOnly.over(assets))
        return rules
    column = universe.max_short_weight
    from_column = np.zeros(size, bool) if column is None else ~np.isnan(column[members])
    for kind, chosen in (
        (LongOnly, room == 0),
        (ShortLimit, (room > 0) & np.isfinite(room) & ~from_column),
        (ColumnShortLimit, (room > 0) & from_column),
    ):
        if np.any(chosen):
            rules.append(_per_asset(kind, assets, np.flatnonzero(chosen), -room[chosen], size))
    return rules


def _per_asset(
    kind: type[LongOnly] | type[ShortLimit] | type[ColumnShortLimit],
    assets: tuple[str, ...],
    positions: np.ndarray,
    bound: np.ndarray,
    size: int,
) -> Rule:
    """w_i ≥ bound_i for the members at ``positions`` (the identity when they are all)."""
    every = len(positions) == size
    derivatives = (
        {LimitKey(ShortLimit.limit): -np.ones(len(positions))} if kind is ShortLimit else {}
    )
    return kind(
        tuple(assets[int(k)] for k in positions),
        np.asarray(bound, dtype=float) + 0.0,  # −0.0 bounds print as 0
        derivatives,
        None if every else positions,
        None if every else size,
    )


def gross_exposure(limits: Limits, size: int) -> list[Rule]:
    """The leverage_limit row over the members, when set."""
    if limits.leverage_limit is None:
        return []
    return [GrossExposure(size=size, bound=limits.leverage_limit)]
