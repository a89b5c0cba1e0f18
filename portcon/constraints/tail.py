"""The tail-risk cap ``max_portfolio_risk``: CVaR of the one-period loss ≤ cap.

- Scenario models (``historical``, ``monte_carlo``): CVaR_α(−R w) ≤ cap over the scenario
  returns R (T × n), the Rockafellar–Uryasev linear program min_t t + Σ (−r_sᵀw − t)⁺ / k,
  k = (1 − α) T, stated with ``pos`` and a free threshold t. The row's dual g is the
  price of one more unit of CVaR; its part of stationarity is g · ∂CVaR, −(g/k) Σ p_s r_s with
  p the tail probabilities, whose spread over losses tied at VaR is a kink (:meth:`kink`).
- Gaussian models (``parametric``, ``garch``): CVaR = c σ₁(w) with c = φ(z_α)/(1 − α) and σ₁
  the one-period volatility, √(wᵀΣw / periods_per_year): a second-order cone on the factor
  form (no dense N × N), whose part of stationarity is g c Σw / (σ √periods_per_year).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon.constraints.base import (
    Block,
    ModelContext,
    PortfolioRow,
    Rule,
    VolatilityBlock,
    factor_risk,
)
from portcon.constraints.keys import LimitKey
from portcon.errors import InputError, LimitsError
from portcon.limits import Limits
from portcon.limits.tail_fields import SCENARIO_MODELS
from portcon.market import MarketData
from portcon.tail_measures import (
    cvar_subgradient,
    gaussian_cvar_multiplier,
    rockafellar_uryasev,
    sample_cvar,
)

LIMIT = "max_portfolio_risk"


@dataclass(frozen=True, eq=False, kw_only=True)
class ScenarioCVaRBlock(PortfolioRow):
    """One nonsmooth row: CVaR_α(−R w) ≤ bound over equally likely scenarios R (T × n)."""

    scenarios: np.ndarray
    level: float
    smooth: ClassVar[bool] = False

    @property
    def scenario_parameter(self) -> str:
        """Name of the Parameter holding R."""
        return f"{self.parameter}.scenarios"

    def values(self, weights: np.ndarray) -> np.ndarray:
        """CVaR of the loss at ``weights``."""
        return np.array([sample_cvar(-self.scenarios @ weights, self.level)])

    def _ends(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return cvar_subgradient(self.scenarios, weights, self.level)

    def gradients(self, weights: np.ndarray) -> np.ndarray:
        """The middle of ∂CVaR per asset, as one row."""
        low, high = self._ends(weights)
        return (0.5 * (low + high))[None, :]

    def pullback(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """g times the middle of ∂CVaR (see :meth:`kink` for the rest)."""
        return float(multipliers[0]) * self.gradients(weights)[0]

    def kink(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """Per asset, |g| times the half-width of ∂CVaR (losses tied at VaR)."""
        low, high = self._ends(weights)
        return abs(float(multipliers[0])) * 0.5 * (high - low)

    def curvature(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray | None:
        """None: piecewise linear."""
        return None

    @property
    def size(self) -> int:
        """Number of assets."""
        return self.scenarios.shape[1]

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """cvar(−R w, α) ≤ bound, R a Parameter."""
        losses = -(ctx.parameter(self.scenario_parameter) @ ctx.weights)
        return rockafellar_uryasev(losses, self.level) <= ctx.parameter(self.parameter)

    def over(
        self,
        weights: cp.Expression,
        cash: cp.Expression | float,
        bound: cp.Expression | np.ndarray,
    ) -> cp.Constraint:
        """The CVaR row over any weight expression, with any bound."""
        return rockafellar_uryasev(-(self.scenarios @ weights), self.level) <= bound

    def layout(self) -> Hashable:
        """Shape in the problem (α enters as a constant)."""
        return (self.rule, "cvar", self.parameter, self.scenarios.shape, self.level)


@dataclass(frozen=True, eq=False, kw_only=True)
class GaussianCVaRBlock(VolatilityBlock):
    """One cone row: c ‖[Gᵀw; d∘w]‖ ≤ bound with G, d already scaled to c/√periods_per_year.

    ``exposures`` and ``specific`` hold the scaled factor form, so every value and gradient of
    :class:`VolatilityBlock` is the Gaussian CVaR's.
    """

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """‖[G'ᵀw; d'∘w]‖₂ ≤ bound over the block's own (scaled) Parameters."""
        risk = factor_risk(
            ctx.weights,
            ctx.parameter(f"{self.parameter}.exposures"),
            ctx.parameter(f"{self.parameter}.specific"),
        )
        return cp.norm(risk, 2) <= ctx.parameter(self.parameter)

    def layout(self) -> Hashable:
        """Shape in the problem."""
        return (self.rule, "gaussian_cvar", self.parameter, self.exposures.shape)


@dataclass(frozen=True, eq=False)
class TailRiskCap(Rule):
    """CVaR_α of the one-period loss ≤ max_portfolio_risk.

    Dual: the decrease of the objective per unit (1.00 = 100% of the portfolio per period)
    of extra CVaR allowed.
    """

    cap: float
    level: float
    scenarios: np.ndarray | None = None
    exposures: np.ndarray | None = None
    specific: np.ndarray | None = None
    limit = LIMIT

    def parameters(self) -> dict[str, float | np.ndarray]:
        values: dict[str, float | np.ndarray] = {self.limit: float(self.cap)}
        if self.scenarios is not None:
            values[f"{self.limit}.scenarios"] = self.scenarios
        else:
            values[f"{self.limit}.exposures"] = self._exposures()
            values[f"{self.limit}.specific"] = self._specific()
        return values

    def _exposures(self) -> np.ndarray:
        if self.exposures is None:
            raise RuntimeError("a Gaussian tail cap needs a risk model")
        return self.exposures

    def _specific(self) -> np.ndarray:
        if self.specific is None:
            raise RuntimeError("a Gaussian tail cap needs a risk model")
        return self.specific

    def blocks(self) -> list[Block]:
        derivatives = {LimitKey(self.limit): np.ones(1)}
        if self.scenarios is not None:
            return [
                ScenarioCVaRBlock(
                    rule=self.limit,
                    parameter=self.limit,
                    scenarios=self.scenarios,
                    level=self.level,
                    bound_derivatives=derivatives,
                )
            ]
        return [
            GaussianCVaRBlock(
                rule=self.limit,
                parameter=self.limit,
                exposures=self._exposures(),
                specific=self._specific(),
                bound_derivatives=derivatives,
            )
        ]


def one_period_gaussian(market: MarketData, limits: Limits) -> tuple[np.ndarray, np.ndarray]:
    """The risk model scaled so that its volatility is the Gaussian CVaR of one period."""
    exposures, specific = market.require_risk()
    scale = gaussian_cvar_multiplier(limits.confidence_level) / np.sqrt(limits.periods_per_year)
    return scale * exposures, scale * specific


def require_tail_data(limits: Limits, market: MarketData, what: str) -> None:
    """The data ``limits.risk_model`` needs for ``what`` (max_portfolio_risk or min_cvar).

    Raises
    ------
    InputError
        When the scenarios or the risk model it reads are missing, naming the argument.
    """
    model = limits.risk_model
    if model in SCENARIO_MODELS and market.scenarios is None:
        source = "returns=" if model == "historical" else "returns=, covariance= or factor_model="
        raise InputError(f"{what} with risk_model '{model}' needs {source} (none was given)")
    if model not in SCENARIO_MODELS and not market.has_risk:
        raise InputError(
            f"{what} with risk_model '{model}' needs a risk model: pass returns=, covariance= "
            "or factor_model="
        )


def tail_rules(limits: Limits, market: MarketData) -> list[Rule]:
    """The max_portfolio_risk row over the members, when set."""
    if limits.max_portfolio_risk is None:
        return []
    if limits.risk_model is None:  # Limits refuses this; a program built by hand may not
        raise LimitsError("max_portfolio_risk needs a risk_model")
    require_tail_data(limits, market, LIMIT)
    level = limits.confidence_level
    if limits.risk_model in SCENARIO_MODELS:
        return [TailRiskCap(limits.max_portfolio_risk, level, scenarios=market.scenarios)]
    exposures, specific = one_period_gaussian(market, limits)
    return [TailRiskCap(limits.max_portfolio_risk, level, exposures=exposures, specific=specific)]
