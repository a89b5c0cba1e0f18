"""The per-asset minimum columns of the scores: ``floor_weight`` (hard) and
``min_weight_if_held`` (semi-continuous), and the migration of the old ``min_weight`` name.

``floor_weight``: the asset is always held, with at least this weight (a row w_i ≥ l_i).
``min_weight_if_held``: the asset is either not held or held with at least this weight (a
position-count rule, met by the mixed-integer search). The old name ``min_weight`` meant the
latter; it is still read, as ``min_weight_if_held``, with a warning saying so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InputError

FLOOR = "floor_weight"
IF_HELD = "min_weight_if_held"
OLD = "min_weight"
FLOOR_SUM_TOLERANCE = 1e-9


def migrate_min_weight(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an old ``min_weight`` column renamed ``min_weight_if_held`` (warning).

    Raises
    ------
    InputError
        When both names are given.
    """
    columns = [str(column) for column in frame.columns]
    if OLD not in columns:
        return frame
    if IF_HELD in columns:
        raise InputError(
            f"columns '{OLD}' and '{IF_HELD}' are both given; '{OLD}' is the old name of "
            f"'{IF_HELD}': keep one"
        )
    warnings.warn(
        f"column '{OLD}' is read as '{IF_HELD}': the asset is not held or held with at least "
        f"this weight (a position-count rule). For a floor held whatever happens use "
        f"'{FLOOR}'. Rename the column to say which one you mean.",
        FutureWarning,
        stacklevel=4,
    )
    return frame.rename(columns={column: IF_HELD for column in frame.columns if str(column) == OLD})


def floor_column(
    floor: np.ndarray | None,
    assets: pd.Index,
    upper: np.ndarray | None,
    fixed: np.ndarray | None,
) -> np.ndarray | None:
    """Check the parsed ``floor_weight`` column (NaN: no floor) against the other columns.

    Raises
    ------
    InputError
        Naming the assets when a floor is outside [0, 1], above max_weight, different from a
        fixed_weight below it, or when the floors sum above 1.
    """
    if floor is None:
        return None
    given = ~np.isnan(floor)
    outside = assets[given & ((floor < 0) | (floor > 1))]
    if len(outside):
        raise InputError(
            f"column '{FLOOR}': weights in [0, 1] (blank for none), out of range for "
            f"{listing(outside)}"
        )
    if upper is not None:
        crossed = assets[given & (floor > upper)]
        if len(crossed):
            raise InputError(
                f"column '{FLOOR}' above max_weight for {listing(crossed)}: lower the floor or "
                "raise max_weight"
            )
    if fixed is not None:
        below = assets[given & ~np.isnan(fixed) & (fixed < floor)]
        if len(below):
            raise InputError(
                f"column '{FLOOR}' above fixed_weight for {listing(below)}: a pinned weight "
                "cannot also be floored higher; drop one of them"
            )
    total = float(np.nansum(floor))
    if total > 1 + FLOOR_SUM_TOLERANCE:
        raise InputError(
            f"column '{FLOOR}': floors sum to {total:.6f} > 1; floors are fractions of the "
            "portfolio (0.05 = 5%)"
        )
    return floor
