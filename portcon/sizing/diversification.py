"""The maximum-diversification portfolio under the program's limits, and its γ*.

The diversification ratio D(w) = σᵀw / √(wᵀΣw) (σ the assets' volatilities, √diag Σ) is
the Sharpe ratio with μ replaced by σ, so it is maximised exactly like max_sharpe
(:mod:`portcon.sizing.sharpe`): with y = κw, minimise yᵀΣy subject to σᵀy = 1,
Σy = κ · target and every limit homogenised. The answer w* satisfies the KKT conditions of
the mean-variance program with μ replaced by σ at γ* = σᵀw* / (w*ᵀΣw*), so portcon sizes
and explains max_diversification as that program
(:class:`~portcon.sizing.risk_objectives.MaxDiversification`).

Position-count limits are refused: the support search that keeps max_sharpe's γ* honest
under counts (:mod:`portcon.counts.sharpe`) values supports by the Sharpe ratio, not D.
"""

from __future__ import annotations

import numpy as np

from portcon.constraints.base import Block
from portcon.errors import InputError, LimitsError
from portcon.limits import Limits
from portcon.market import MarketData
from portcon.sizing.sharpe import ratio_risk_aversion

MODE = "max_diversification"


def diversification_risk_aversion(
    market: MarketData, blocks: list[Block], bounds: dict[str, np.ndarray], target: float
) -> float:
    """γ* of the maximum-diversification portfolio under ``blocks``.

    Raises
    ------
    LimitsError
        When the limits cannot invest the target.
    SolverError
        When the solver fails.
    """
    return ratio_risk_aversion(
        market,
        blocks,
        bounds,
        target,
        gain=market.volatility(),
        mode=MODE,
        what="volatility-weighted exposure σᵀw",
    )


def check_volatilities(market: MarketData, assets: tuple[str, ...]) -> None:
    """Every asset needs a positive volatility: a riskless one makes D(w) unbounded.

    Raises
    ------
    InputError
        Naming the assets whose risk-model volatility is 0.
    """
    riskless = [asset for asset, vol in zip(assets, market.volatility(), strict=False) if vol <= 0]
    if riskless or not np.all(market.volatility() > 0):
        named = ", ".join(riskless[:8]) or "some assets"
        raise InputError(
            f"sizing_mode '{MODE}' needs a positive volatility for every asset; {named} "
            "have none in the risk model: drop them or give their risk"
        )


def refuse_counts(limits: Limits) -> None:
    """max_diversification with a position-count limit: a clear LimitsError.

    Raises
    ------
    LimitsError
        Naming the count limits that are set.
    """
    from portcon.counts.rules import COUNT_FIELDS  # counts imports the program, which imports us

    named = [field for field in COUNT_FIELDS if getattr(limits, field, None) not in (None, {}, ())]
    if named:
        raise LimitsError(count_message(", ".join(named)))


def count_message(named: str) -> str:
    """Why ``named`` (count limits) cannot be used with max_diversification, and the fix."""
    return (
        f"sizing_mode '{MODE}' does not support position-count limits yet ({named}): the "
        "support search of max_sharpe values supports by the Sharpe ratio, not the "
        "diversification ratio; drop them, or use max_sharpe or min_variance with counts"
    )
