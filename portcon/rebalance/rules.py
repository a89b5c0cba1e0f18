"""The rows an :class:`~portcon.rebalance.eligibility.Eligibility` adds to a program."""

from __future__ import annotations

import numpy as np

from portcon.constraints.base import Rule
from portcon.constraints.holding import FixedWeight, GraceCap, MinimumHolding
from portcon.constraints.keys import LimitKey
from portcon.limits import Limits
from portcon.rebalance.eligibility import Eligibility
from portcon.universe import Universe


def held_rules(
    found: Eligibility, universe: Universe, limits: Limits, members: np.ndarray
) -> list[Rule]:
    """Pins (fixed weights, minimum holding) and grace caps over the program's members."""
    if not found.pinned and not found.grace:
        return []  # none of either: no per-member lookups to build
    index = {int(position): k for k, position in enumerate(members)}
    assets = tuple(str(a) for a in universe.assets.to_numpy(dtype=object)[members])
    size = len(members)
    rules: list[Rule] = []
    for kind in (FixedWeight, MinimumHolding):
        pinned = [(index[p], w) for p, (w, field, _) in found.pinned.items() if field == kind.limit]
        if pinned:
            rows = np.array([k for k, _ in pinned])
            rules.append(
                kind(
                    assets=tuple(assets[k] for k in rows),
                    bound=np.array([w for _, w in pinned]),
                    derivatives={},
                    positions=rows,
                    size=size,
                )
            )
    if found.grace:
        graced = sorted((index[p], cap) for p, (cap, _) in found.grace.items())
        rows = np.array([k for k, _ in graced])
        current = universe.current_weight
        if current is None:
            raise RuntimeError("grace given to an asset with no current weight; this is a bug")
        first_day = np.array(
            [
                universe.days_below_threshold is not None
                and universe.days_below_threshold[members[k]] == 0
                for k in rows
            ]
        )
        per_rate = np.where(first_day, 0.0, current[members[rows]])
        rules.append(
            GraceCap(
                assets=tuple(assets[k] for k in rows),
                bound=np.array([cap for _, cap in graced]),
                derivatives={LimitKey("grace_decay_rate"): per_rate},
                positions=rows,
                size=size,
            )
        )
    return rules
