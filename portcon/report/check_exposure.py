"""Independent check of long-only, short caps, gross and net exposure, in plain numpy.

Shares no code with the rules (portcon/constraints/exposure*.py): it reads ``allow_short``,
``max_short_position``, the ``max_short_weight`` column, ``leverage_limit``,
``min_net_exposure`` and ``target_allocation`` and recomputes every bound and total.
"""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits
from portcon.universe import Universe


def exposure_violations(
    w: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    """Every short, gross or net exposure limit the weights break by more than ``tolerance``.

    An asset may be short only where the ``max_short_weight`` column gives it room (> 0) or,
    without a value there, when ``allow_short`` is true (down to −``max_short_position`` if
    set); every other asset is ``long_only``.
    """
    found = []
    floor = np.zeros(len(w))
    if limits.allow_short:
        cap = limits.max_short_position
        floor[:] = -np.inf if cap is None else -cap
    column = universe.max_short_weight
    if column is not None:
        given = ~np.isnan(column)
        floor[given] = -column[given]
    for k in np.flatnonzero(w < floor - tolerance):
        source = _floor_source(int(k), limits, column)
        found.append(f"{source} {universe.assets[int(k)]}: {w[k]:.10f} < {floor[k]:.10f}")
    gross = float(np.sum(np.abs(w)))
    if limits.leverage_limit is not None and gross > limits.leverage_limit + tolerance:
        found.append(f"leverage_limit: gross {gross:.10f} > {limits.leverage_limit:.10f}")
    net = float(np.sum(w))
    low = limits.min_net_exposure
    exact = low is None and not limits.allow_cash_rollover
    if exact and abs(net - limits.target_allocation) > tolerance:
        found.append(
            f"target_allocation (no rollover): net {net:.10f} != {limits.target_allocation:.10f}"
        )
    if low is not None and net < low - tolerance:
        found.append(f"min_net_exposure: net {net:.10f} < {low:.10f}")
    return found


def _floor_source(k: int, limits: Limits, column: np.ndarray | None) -> str:
    """The rule that sets asset ``k``'s floor: a given ``max_short_weight`` (> 0, or 0 for
    long only), else ``max_short_position`` where shorts are allowed, else ``long_only``."""
    if column is not None and not np.isnan(column[k]):
        if column[k] > 0:
            return "max_short_weight"
        if column[k] == 0:
            return "long_only"
    return "max_short_position" if limits.allow_short else "long_only"
