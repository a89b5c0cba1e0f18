"""Independent check of the benchmark-relative limits, in plain numpy.

Shares no code with the rules (portcon/constraints/benchmark*.py): it reads the
``benchmark_weight`` column and the Limits, forms a = w − b over the whole universe, and
recomputes the tracking error from the dense covariance and every active bound.
"""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits
from portcon.market import MarketData
from portcon.universe import Universe


def benchmark_violations(
    w: np.ndarray,
    universe: Universe,
    limits: Limits,
    tolerance: float,
    market: MarketData | None,
) -> list[str]:
    """Every tracking-error or active bound the weights break by more than ``tolerance``."""
    benchmark = universe.benchmark_weight
    if benchmark is None:
        return []
    found = []
    active = w - benchmark
    cap = limits.max_tracking_error
    if cap is not None:
        if market is None or not market.has_risk:
            found.append("max_tracking_error: no risk model to check it against")
        else:
            error = float(np.sqrt(max(float(active @ market.covariance() @ active), 0.0)))
            if error > cap + tolerance:
                found.append(f"max_tracking_error: {error:.10f} > {cap:.10f}")
    allowed = limits.max_active_weight
    if allowed is not None:
        for k in np.flatnonzero(np.abs(active) > allowed + tolerance):
            found.append(
                f"max_active_weight {universe.assets[int(k)]}: |{active[k]:.10f}| > {allowed:.10f}"
            )
    for kind, every, named in (
        ("bucket", limits.max_active_bucket_allocation, limits.active_bucket_caps),
        ("sector", limits.max_active_sector_allocation, limits.active_sector_caps),
    ):
        labels = universe.groups(kind)
        if labels is None:
            continue
        for group in sorted(set(labels)):
            bound = named.get(group, every)
            net = float(active[labels == group].sum())
            if bound is not None and abs(net) > bound + tolerance:
                found.append(f"active {kind} cap {group}: |{net:.10f}| > {bound:.10f}")
    return found
