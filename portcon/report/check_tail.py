"""Independent check of ``max_portfolio_risk``: the CVaR of the answer recomputed in numpy."""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits
from portcon.market import MarketData
from portcon.report.tail_metrics import tail_risk


def tail_violations(
    w: np.ndarray, limits: Limits, market: MarketData | None, tolerance: float
) -> list[str]:
    """``max_portfolio_risk`` broken by more than ``tolerance`` (or no data to check it)."""
    cap = limits.max_portfolio_risk
    if cap is None:
        return []
    measured = tail_risk(w, limits, market)
    if measured is None:
        return [f"max_portfolio_risk: no {limits.risk_model} data to check it against"]
    cvar = measured[1]
    if cvar > cap + tolerance:
        return [f"max_portfolio_risk: CVaR {cvar:.10f} > {cap:.10f}"]
    return []
