"""The market data a ``risk_model`` adds: GARCH volatilities in the risk model, and scenarios.

- ``garch``: each asset's volatility becomes its GARCH(1,1) forecast σ_g, the correlations
  stay those of the estimated risk model: Σ_g = S Σ S with S = diag(σ_g / σ). In factor form
  that is G → S G, d → S d (no dense N × N); every sizing mode and limit then reads Σ_g.
- ``historical``: the scenarios are the return history as given.
- ``monte_carlo``: ``scenario_count`` draws r = (G z + d ∘ e) / √periods_per_year with z, e
  standard normal from ``numpy.random.default_rng(scenario_seed)``: one-period returns of the
  risk model, mean zero (as the Gaussian models).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InputError
from portcon.limits import Limits
from portcon.limits.tail_fields import RiskModel
from portcon.market import MarketData


def with_garch(market: MarketData, limits: Limits, assets: pd.Index) -> MarketData:
    """``market`` with its risk model rescaled to GARCH(1,1) volatilities (risk_model garch).

    Raises
    ------
    InputError
        Without a return history or a risk model, or when arch is not installed.
    """
    if limits.risk_model != RiskModel.GARCH:
        return market
    if market.returns is None:
        raise InputError("risk_model 'garch' fits GARCH(1,1) on a return history: pass returns=")
    exposures, specific = market.require_risk()
    from portcon.estimators.garch import GarchVolatility

    forecast = GarchVolatility(periods_per_year=limits.periods_per_year).fit(market.returns)
    volatility = market.volatility()
    riskless = assets[volatility <= 0]
    if len(riskless):
        raise InputError(
            f"risk_model 'garch' rescales each asset's volatility; {listing(riskless)} have "
            "none in the risk model: drop them"
        )
    scale = forecast.volatility_ / volatility
    note = (
        "risk_model garch: volatilities are GARCH(1,1) forecasts for the next period "
        f"(median {np.median(forecast.volatility_):.1%} a year), correlations the risk model's"
    )
    return replace(
        market,
        exposures=scale[:, None] * exposures,
        specific=scale * specific,
        notes=(*market.notes, note),
    )


def tail_scenarios(market: MarketData, limits: Limits) -> np.ndarray | None:
    """The equally likely one-period return scenarios of a scenario risk model (else None)."""
    if limits.risk_model == RiskModel.HISTORICAL:
        return market.returns
    if limits.risk_model != RiskModel.MONTE_CARLO or not market.has_risk:
        return None
    return simulated_returns(market, limits.scenario_count, limits.scenario_seed, limits)


def simulated_returns(market: MarketData, count: int, seed: int, limits: Limits) -> np.ndarray:
    """``count`` one-period returns drawn from N(0, Σ / periods_per_year), seeded."""
    exposures, specific = market.require_risk()
    generator = np.random.default_rng(seed)
    factors = generator.standard_normal((count, exposures.shape[1]))
    noise = generator.standard_normal((count, len(specific)))
    draws = factors @ exposures.T + noise * specific
    return draws / np.sqrt(limits.periods_per_year)
