"""``sizing_mode = "min_cvar"``: the portfolio of least CVaR under the program's limits.

With a scenario risk model (historical, monte_carlo) the objective is the Rockafellar–Uryasev
CVaR of the one-period loss over the scenarios, CVaR_α(−R w) = min_t t + Σ (−r_sᵀw − t)⁺ / k
(k = (1 − α) T), a linear program (stated with ``pos`` and a free threshold t). With a
Gaussian one (parametric, garch) it is c σ₁(w), c = φ(z_α)/(1 − α) and σ₁ the one-period
volatility: the same weights as min_variance, in CVaR units. Adding ``min_expected_return``
gives the mean-CVaR efficient portfolio for that return. Cash costs ρ per unit, above every
marginal CVaR, so the target is invested unless the limits cannot absorb it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext, factor_risk
from portcon.constraints.tail import one_period_gaussian, require_tail_data
from portcon.limits import SizingMode
from portcon.limits.tail_fields import SCENARIO_MODELS
from portcon.sizing.modes import Candidates, _RiskBased
from portcon.sizing.objectives import SizingObjective
from portcon.tail_measures import cvar_subgradient, rockafellar_uryasev, sample_cvar


@dataclass(frozen=True, eq=False)
class ScenarioCVaR(SizingObjective):
    """minimise CVaR_α(−R w) + ρ · cash over equally likely scenarios R (T × n)."""

    meaning: ClassVar[str] = (
        "CVaR of the one-period loss at confidence_level (a fraction of the portfolio)"
    )
    scenarios: np.ndarray
    level: float

    def _penalty(self) -> float:
        return 1.0 + 2.0 * float(np.max(np.abs(self.scenarios)))

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {"sizing.scenarios": self.scenarios, "sizing.cash_penalty": self._penalty()}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        losses = -(ctx.parameter("sizing.scenarios") @ ctx.weights)
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        return rockafellar_uryasev(losses, self.level) + penalty, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        return sample_cvar(-self.scenarios @ weights, self.level) + self._penalty() * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return cvar_subgradient(self.scenarios, weights, self.level)

    def structure(self) -> Hashable:
        return (type(self).__name__, self.scenarios.shape, self.level)


@dataclass(frozen=True, eq=False)
class GaussianCVaR(SizingObjective):
    """minimise c ‖[G'ᵀw; d'∘w]‖ + ρ · cash, (G', d') the risk model scaled to one-period CVaR."""

    meaning: ClassVar[str] = (
        "Gaussian CVaR of the one-period loss at confidence_level (a fraction of the portfolio)"
    )
    exposures: np.ndarray
    specific: np.ndarray

    def _times(self, weights: np.ndarray) -> np.ndarray:
        return self.exposures @ (self.exposures.T @ weights) + self.specific**2 * weights

    def _deviation(self, weights: np.ndarray) -> float:
        return float(np.sqrt(max(float(weights @ self._times(weights)), 0.0)))

    def _penalty(self) -> float:
        largest = np.sqrt(np.sum(self.exposures**2, axis=1) + self.specific**2)
        return 1.0 + 2.0 * float(np.max(largest))

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.risk_exposures": self.exposures,
            "sizing.risk_specific": self.specific,
            "sizing.cash_penalty": self._penalty(),
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        exposures = ctx.parameter("sizing.risk_exposures")
        risk = factor_risk(ctx.weights, exposures, ctx.parameter("sizing.risk_specific"))
        return cp.norm(risk, 2) + ctx.parameter("sizing.cash_penalty") * ctx.cash, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        return self._deviation(weights) + self._penalty() * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        deviation = self._deviation(weights)
        gradient = self._times(weights) / deviation if deviation > 0 else 0.0 * weights
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        deviation = self._deviation(weights)
        if deviation <= 0:
            return None
        covariance = self.exposures @ self.exposures.T + np.diag(self.specific**2)
        direction = self._times(weights)
        return (covariance - np.outer(direction, direction) / deviation**2) / deviation


class MinCVaRSizing(_RiskBased):
    """The least-CVaR portfolio of the target size under ``risk_model``."""

    mode = SizingMode.MIN_CVAR
    phrase = "minimum CVaR"

    def sizes(self, candidates: Candidates) -> np.ndarray:
        require_tail_data(self.limits, candidates.market, "sizing_mode 'min_cvar'")
        return np.ones_like(candidates.score)

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        market, limits = candidates.market, self.limits
        if limits.risk_model in SCENARIO_MODELS and market.scenarios is not None:
            return ScenarioCVaR(scenarios=market.scenarios, level=limits.confidence_level)
        exposures, specific = one_period_gaussian(market, limits)
        return GaussianCVaR(exposures=exposures, specific=specific)
