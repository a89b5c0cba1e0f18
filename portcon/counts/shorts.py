"""Position counts in a long-short book: a short counts as a position, as a long does.

A held member is |w_i| > 0. The mixed-integer link ℓ z ≤ w ≤ u z becomes −s z ≤ w ≤ u z for a
member that may go short, with s its short room: the big-M of a held short, so it must be
finite (``max_short_position``, the ``max_short_weight`` column, or ``leverage_limit``).
With shorts in a group, a group cap no longer bounds any one member (a short in the group
frees room), so u comes from the per-asset rows and the gross exposure alone. A "0 or at
least" minimum would need a direction per asset (|w| ≥ m is not convex even on a support),
so ``min_position_size``, the ``min_weight_if_held`` column and ``min_buckets_represented``
are refused where a member may go short.
"""

from __future__ import annotations

import numpy as np

from portcon.constraints.base import RowBlock, Sense
from portcon.constraints.exposure_checks import short_room
from portcon.errors import LimitsError
from portcon.optimizer.program import Program

SEMI_CONTINUOUS = ("min_position_size", "min_buckets_represented")


def short_bounds(program: Program) -> np.ndarray | None:
    """Per member, the most it may be short (finite), or None when no member may go short.

    Raises
    ------
    LimitsError
        When a short has no finite bound, or a "0 or at least" minimum meets a short.
    """
    limits, members = program.limits, program.members
    room = short_room(program.universe, limits)[members]
    if not np.any(room > 0):
        return None
    used = [field for field in SEMI_CONTINUOUS if getattr(limits, field) is not None]
    column = program.universe.min_weight
    if column is not None and np.any(np.nan_to_num(column[members]) > 0):
        used.append("the min_weight_if_held column")
    if used:
        raise LimitsError(
            f"{' and '.join(used)} ('0 or at least') cannot apply to a book with short "
            "positions: |w| ≥ m has no convex form; drop it, or use hard floors "
            "(floor_weight, asset_floors) on the long side"
        )
    if limits.leverage_limit is not None:
        room = np.minimum(room, limits.leverage_limit)
    if not np.all(np.isfinite(room)):
        raise LimitsError(
            "position-count limits with shorts need a bound on every short (the size of a held "
            "short): set max_short_position or leverage_limit"
        )
    return room


def long_bounds(program: Program) -> np.ndarray:
    """Per member, the largest long weight under the per-asset rows and the gross exposure.

    Raises
    ------
    LimitsError
        When some member has no finite bound.
    """
    size = len(program.members)
    limits = program.limits
    upper = np.full(size, np.inf if limits.leverage_limit is None else limits.leverage_limit)
    values = program.parameters()
    for block in program.blocks:
        if not isinstance(block, RowBlock) or block.sense != Sense.LE:
            continue
        selected = block.selected_assets()
        if selected is not None:
            upper[selected] = np.minimum(upper[selected], block.bound_values(values))
    if not np.all(np.isfinite(upper)):
        raise LimitsError(
            "position-count limits with shorts need a bound on every long position (a group "
            "cap does not bound one member when others in the group may be short): set "
            "max_single_position or leverage_limit"
        )
    return np.maximum(upper, 0.0)
