"""VaR and CVaR of a portfolio's one-period loss under ``Limits.risk_model``, in numpy.

Scenario models (historical, monte_carlo) read the market data's scenarios; the Gaussian ones
(parametric, garch) the risk model over one period, Σ / periods_per_year, mean zero. Shares
no code with the rules (portcon/constraints/tail.py): the independent checker and the metrics
both use it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from portcon.limits import Limits
from portcon.limits.tail_fields import SCENARIO_MODELS
from portcon.market import MarketData


def tail_risk(
    weights: np.ndarray, limits: Limits, market: MarketData | None
) -> tuple[float, float] | None:
    """(VaR, CVaR) at ``confidence_level`` of the loss −rᵀw, or None without the data."""
    if limits.risk_model is None or market is None:
        return None
    level = limits.confidence_level
    if limits.risk_model in SCENARIO_MODELS:
        if market.scenarios is None:
            return None
        losses = np.sort(-market.scenarios @ weights)[::-1]
        worst = (1.0 - level) * len(losses)  # the worst (1 − α) T, the last one fractionally
        whole = int(np.floor(worst + 1e-12))
        tail = losses[:whole].sum() + (worst - whole) * (
            losses[whole] if whole < len(losses) else 0
        )
        at_risk = losses[max(int(np.ceil(worst - 1e-12)) - 1, 0)]
        return float(at_risk), float(tail / worst)
    if not market.has_risk:
        return None
    exposures, specific = market.require_risk()
    variance = float(np.sum((exposures.T @ weights) ** 2) + np.sum((specific * weights) ** 2))
    deviation = np.sqrt(max(variance, 0.0) / limits.periods_per_year)
    z = norm.ppf(level)
    return float(z * deviation), float(norm.pdf(z) / (1.0 - level) * deviation)
