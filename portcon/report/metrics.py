"""Portfolio metrics: concentration, cash, group exposure against caps, and ex-ante risk and
return where market data is given."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from portcon.limits import Limits
from portcon.market import MarketData
from portcon.report.active_metrics import active_metrics
from portcon.report.tail_metrics import tail_risk
from portcon.universe import Universe


@dataclass(frozen=True, eq=False)
class Metrics:
    """Summary numbers of a portfolio.

    Attributes
    ----------
    positions
        Number of assets held.
    largest_position
        Largest weight.
    hhi
        Herfindahl–Hirschman index of the invested weights, Σ (w_i / Σw)².
    effective_positions
        1 / hhi: the number of equal positions with the same concentration.
    invested, cash
        Σ w and 1 − Σ w.
    bucket_exposure, sector_exposure
        Per group: ``exposure``, ``cap`` (NaN when uncapped), ``headroom``, and with a risk
        model ``risk_share`` (the group's share of the portfolio's volatility); None without
        the column.
    expected_return, volatility, sharpe
        Ex-ante μᵀw, √(wᵀΣw) and their ratio (no risk-free rate), in the units of the market
        data (estimates from returns are per year, by ``periods_per_year``); None without
        expected returns or a risk model.
    risk_contributions
        Per held asset with a risk model: ``weight``, ``marginal`` ((Σw)_i / σ, the volatility
        added per unit of weight), ``contribution`` (w_i · marginal; they sum to σ) and
        ``share`` (contribution / σ; they sum to 1). None without a risk model.
    active_share, tracking_error
        Against the scores' ``benchmark_weight`` column b: ½ Σ|w_i − b_i| over every asset,
        and the ex-ante √((w−b)ᵀΣ(w−b)) (None without a risk model); both None without the
        column.
    value_at_risk, conditional_value_at_risk
        VaR and CVaR at ``confidence_level`` of the one-period loss −rᵀw under ``risk_model``
        (fractions of the portfolio; see :mod:`portcon.report.tail_metrics`); None without a
        risk_model or its data.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> limits = {"sizing_mode": "equal_weight", "max_single_position": 0.5}
    >>> book = portcon.construct(pd.Series({"A": 0.9, "B": 0.8}), limits)
    >>> metrics = book.metrics
    >>> metrics.positions, round(metrics.invested, 4), round(metrics.effective_positions, 4)
    (2, 0.95, 2.0)
    """

    positions: int
    largest_position: float
    hhi: float
    effective_positions: float
    invested: float
    cash: float
    bucket_exposure: pd.DataFrame | None
    sector_exposure: pd.DataFrame | None
    expected_return: float | None = None
    volatility: float | None = None
    sharpe: float | None = None
    risk_contributions: pd.DataFrame | None = None
    value_at_risk: float | None = None
    conditional_value_at_risk: float | None = None
    active_share: float | None = None
    tracking_error: float | None = None

    def copy(self) -> Metrics:
        """A copy whose exposure tables are copies too."""

        def copied(table: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if table is None else table.copy()

        return replace(
            self,
            bucket_exposure=copied(self.bucket_exposure),
            sector_exposure=copied(self.sector_exposure),
            risk_contributions=copied(self.risk_contributions),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""

        def frame(table: pd.DataFrame | None) -> dict[str, dict[str, float | None]] | None:
            if table is None:
                return None
            return {
                str(group): {str(k): (None if pd.isna(v) else float(v)) for k, v in row.items()}
                for group, row in table.iterrows()
            }

        return {
            "positions": self.positions,
            "largest_position": self.largest_position,
            "hhi": self.hhi,
            "effective_positions": self.effective_positions,
            "invested": self.invested,
            "cash": self.cash,
            "bucket_exposure": frame(self.bucket_exposure),
            "sector_exposure": frame(self.sector_exposure),
            "expected_return": self.expected_return,
            "volatility": self.volatility,
            "sharpe": self.sharpe,
            "risk_contributions": frame(self.risk_contributions),
            "value_at_risk": self.value_at_risk,
            "conditional_value_at_risk": self.conditional_value_at_risk,
            "active_share": self.active_share,
            "tracking_error": self.tracking_error,
        }


def compute_metrics(
    weights: np.ndarray, universe: Universe, limits: Limits, market: MarketData | None = None
) -> Metrics:
    """Metrics of ``weights`` (aligned with the universe; ``market`` too when given)."""
    invested = float(weights.sum())
    held = weights > 0
    hhi = float(np.sum((weights / invested) ** 2)) if invested > 0 else 0.0
    risk = _risk(weights, universe, market)
    bucket = _exposure(weights, universe.bucket, limits.max_bucket_allocation, limits.bucket_caps)
    sector = _exposure(weights, universe.sector, limits.max_sector_allocation, limits.sector_caps)
    if risk is not None:
        shares = risk["share"].reindex(universe.assets, fill_value=0.0).to_numpy()
        bucket = _with_risk(bucket, universe.bucket, shares)
        sector = _with_risk(sector, universe.sector, shares)
    volatility = None if risk is None else float(risk["contribution"].sum())
    expected = None
    if market is not None and market.expected_returns is not None:
        expected = float(market.expected_returns @ weights)
    sharpe = None
    if expected is not None and volatility is not None and volatility > 0:
        sharpe = expected / volatility
    tail = tail_risk(weights, limits, market)
    active = active_metrics(weights, universe, market)
    return Metrics(
        positions=int(held.sum()),
        largest_position=float(weights.max(initial=0.0)),
        hhi=hhi,
        effective_positions=1.0 / hhi if hhi > 0 else 0.0,
        invested=invested,
        cash=1.0 - invested,
        bucket_exposure=bucket,
        sector_exposure=sector,
        expected_return=expected,
        volatility=volatility,
        sharpe=sharpe,
        risk_contributions=risk,
        value_at_risk=None if tail is None else tail[0],
        conditional_value_at_risk=None if tail is None else tail[1],
        active_share=active["active_share"],
        tracking_error=active["tracking_error"],
    )


def _risk(
    weights: np.ndarray, universe: Universe, market: MarketData | None
) -> pd.DataFrame | None:
    """Euler risk contributions w_i (Σw)_i / σ of the held assets, from the factor form."""
    if market is None or not market.has_risk:
        return None
    exposures, specific = market.require_risk()
    times = exposures @ (exposures.T @ weights) + specific**2 * weights
    volatility = float(np.sqrt(max(float(weights @ times), 0.0)))
    if volatility <= 0:
        return None
    held = weights > 0
    marginal = times[held] / volatility
    contribution = weights[held] * marginal
    frame = pd.DataFrame(
        {
            "weight": weights[held],
            "marginal": marginal,
            "contribution": contribution,
            "share": contribution / volatility,
        },
        index=pd.Index(universe.assets[held], name="asset"),
    )
    return frame.sort_values("contribution", ascending=False)


def _with_risk(
    table: pd.DataFrame | None, labels: np.ndarray | None, shares: np.ndarray
) -> pd.DataFrame | None:
    if table is None or labels is None:
        return table
    risk = pd.Series(shares, index=labels).groupby(level=0, sort=False).sum()
    return table.assign(risk_share=risk.reindex(table.index).to_numpy())


def _exposure(
    weights: np.ndarray, labels: np.ndarray | None, global_cap: float | None, overrides: Any
) -> pd.DataFrame | None:
    if labels is None:
        return None
    exposure = pd.Series(weights, index=labels).groupby(level=0, sort=False).sum()
    caps = pd.Series(
        [overrides.get(g, global_cap) for g in exposure.index], index=exposure.index, dtype=float
    )
    frame = pd.DataFrame({"exposure": exposure, "cap": caps})
    frame["headroom"] = frame["cap"] - frame["exposure"]
    frame.index.name = "group"
    return frame
