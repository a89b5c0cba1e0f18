"""Active share and ex-ante tracking error against the scores' ``benchmark_weight`` column."""

from __future__ import annotations

import numpy as np

from portcon.market import MarketData
from portcon.universe import Universe


def active_metrics(
    weights: np.ndarray, universe: Universe, market: MarketData | None
) -> dict[str, float | None]:
    """``active_share`` ½ Σ|w − b| and ``tracking_error`` √((w−b)ᵀΣ(w−b)), in the factor form
    of ``market`` (universe order); None where the benchmark or the risk model is missing.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from portcon.universe import Universe
    >>> scores = pd.DataFrame({"score": [0.9, 0.8], "benchmark_weight": [0.5, 0.5]}, ["A", "B"])
    >>> found = active_metrics(np.array([0.7, 0.3]), Universe.from_scores(scores), None)
    >>> round(found["active_share"], 12), found["tracking_error"]
    (0.2, None)
    """
    benchmark = universe.benchmark_weight
    if benchmark is None:
        return {"active_share": None, "tracking_error": None}
    active = weights - benchmark
    share = 0.5 * float(np.abs(active).sum())
    if market is None or not market.has_risk:
        return {"active_share": share, "tracking_error": None}
    exposures, specific = market.require_risk()
    factor = exposures.T @ active
    variance = float(factor @ factor + np.sum((specific * active) ** 2))
    return {"active_share": share, "tracking_error": float(np.sqrt(max(variance, 0.0)))}
