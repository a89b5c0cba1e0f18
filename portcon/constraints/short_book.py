"""A current book holding shorts: allowed only where the limits allow the asset to go short."""

from __future__ import annotations

import numpy as np

from portcon._text import listing
from portcon.constraints.exposure_checks import short_room
from portcon.errors import InputError
from portcon.limits import Limits
from portcon.universe import Universe


def check_short_book(universe: Universe, limits: Limits) -> None:
    """A negative ``current_weight`` needs the asset to be allowed short.

    Trades, turnover, costs and the holding rules act on signed weights, so a held short is
    rebalanced like a held long; but a book short where the limits forbid shorts is a mistake
    in the inputs or the limits, not something to close silently.

    Raises
    ------
    InputError
        Naming the short rows and how to allow them (``allow_short`` or the
        ``max_short_weight`` column).
    """
    current = universe.current_weight
    if current is None:
        return
    refused = (current < 0) & (short_room(universe, limits) == 0)
    if not np.any(refused):
        return
    rows = listing(f"{universe.assets[int(p)]} ({current[p]:g})" for p in np.flatnonzero(refused))
    raise InputError(
        f"column 'current_weight': negative (short) current weight for {rows}, but these "
        "assets may not go short; set allow_short = true in the limits (or give them a "
        "max_short_weight above 0) to rebalance a book with shorts"
    )
