"""Risk-based sizing objectives: minimum variance, mean-variance, Kelly (quadratic and exact).

Risk is always in factor form, wᵀΣw = ‖Gᵀw‖² + ‖d∘w‖², through the model's risk Parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.market import MarketData
from portcon.optimizer.objectives import SizingObjective


def _covariance_times(market: MarketData, weights: np.ndarray) -> np.ndarray:
    return market.exposures @ (market.exposures.T @ weights) + market.specific**2 * weights


def _variance(market: MarketData, weights: np.ndarray) -> float:
    return float(weights @ _covariance_times(market, weights))


def _covariance(market: MarketData) -> np.ndarray:
    return market.exposures @ market.exposures.T + np.diag(market.specific**2)


def _largest_variance(market: MarketData) -> float:
    return float(np.max(market.volatility() ** 2))


def _scaled_risk_parameters(market: MarketData, scale: float) -> dict[str, np.ndarray]:
    """√scale · G and √scale · d: a weighted risk term stays DPP (no Parameter × Parameter)."""
    root = np.sqrt(scale)
    return {
        "sizing.risk_exposures": root * market.exposures,
        "sizing.risk_specific": root * market.specific,
    }


def _scaled_risk(ctx: ModelContext) -> cp.Expression:
    """scale · wᵀΣw from the parameters of :func:`_scaled_risk_parameters`."""
    exposures = ctx.parameter("sizing.risk_exposures")
    specific = ctx.parameter("sizing.risk_specific")
    return cp.sum_squares(exposures.T @ ctx.weights) + cp.sum_squares(
        cp.multiply(specific, ctx.weights)
    )


@dataclass(frozen=True, eq=False)
class MinimumVariance(SizingObjective):
    """minimise ½ wᵀΣw + ρ · cash: the least risky portfolio investing the target.

    ρ = 1 + 2 max_i Σ_ii exceeds every marginal (Σw)_i, so cash is only used when the
    limits cannot absorb the target.
    """

    market: MarketData

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {"sizing.cash_penalty": 1.0 + 2.0 * _largest_variance(self.market)}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        return 0.5 * cp.sum_squares(ctx.risk()) + penalty, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        penalty = 1.0 + 2.0 * _largest_variance(self.market)
        return 0.5 * _variance(self.market, weights) + penalty * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = _covariance_times(self.market, weights)
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return _covariance(self.market)


@dataclass(frozen=True, eq=False)
class MeanVariance(SizingObjective):
    """minimise −μᵀw + (γ/2) wᵀΣw + ρ · cash (PyPortfolioOpt's quadratic utility, negated).

    γ is ``risk_aversion``; the target is fully invested unless the limits cannot absorb it.
    """

    market: MarketData
    risk_aversion: float

    def _penalty(self) -> float:
        largest_return = float(np.max(np.abs(self.market.expected_returns)))
        return 1.0 + 2.0 * (largest_return + self.risk_aversion * _largest_variance(self.market))

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.mu": self.market.expected_returns,
            "sizing.cash_penalty": self._penalty(),
            **_scaled_risk_parameters(self.market, 0.5 * self.risk_aversion),
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        gain = ctx.parameter("sizing.mu") @ ctx.weights
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        return -gain + _scaled_risk(ctx) + penalty, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        gain = float(self.market.expected_returns @ weights)
        risk = 0.5 * self.risk_aversion * _variance(self.market, weights)
        return -gain + risk + self._penalty() * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = -self.market.expected_returns + self.risk_aversion * _covariance_times(
            self.market, weights
        )
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return self.risk_aversion * _covariance(self.market)

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[str, float]:
        return {"risk_aversion": 0.5 * _variance(self.market, weights)}


@dataclass(frozen=True, eq=False)
class QuadraticKelly(SizingObjective):
    """minimise −μᵀw + wᵀΣw / (2κ): the Gaussian approximation of log growth, κ-fractional.

    Unconstrained, w = κ Σ⁻¹μ. Cash is free: the target is a ceiling, not a goal.
    """

    market: MarketData
    fraction: float

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.mu": self.market.expected_returns,
            **_scaled_risk_parameters(self.market, 0.5 / self.fraction),
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        return -ctx.parameter("sizing.mu") @ ctx.weights + _scaled_risk(ctx), []

    def value(self, weights: np.ndarray, cash: float) -> float:
        gain = float(self.market.expected_returns @ weights)
        return -gain + 0.5 / self.fraction * _variance(self.market, weights)

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = (
            -self.market.expected_returns + _covariance_times(self.market, weights) / self.fraction
        )
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return _covariance(self.market) / self.fraction

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[str, float]:
        return {"kelly_fraction": -0.5 / self.fraction**2 * _variance(self.market, weights)}


@dataclass(frozen=True, eq=False)
class ExactKelly(SizingObjective):
    """minimise −mean_t log(1 + r_tᵀw / κ): log growth of the κ-scaled bet over the history.

    Unconstrained, w = κ × (the full-Kelly weights). Cash is free.
    """

    returns: np.ndarray
    fraction: float

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {"sizing.scaled_returns": self.returns / self.fraction}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        growth = cp.log(1 + ctx.parameter("sizing.scaled_returns") @ ctx.weights)
        return -cp.sum(growth) / self.returns.shape[0], []

    def _wealth(self, weights: np.ndarray) -> np.ndarray:
        return 1.0 + self.returns @ weights / self.fraction

    def value(self, weights: np.ndarray, cash: float) -> float:
        return float(-np.mean(np.log(self._wealth(weights))))

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scaled = self.returns / self.fraction
        gradient = -np.mean(scaled / self._wealth(weights)[:, None], axis=0)
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        scaled = self.returns / self.fraction / self._wealth(weights)[:, None]
        return scaled.T @ scaled / self.returns.shape[0]

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[str, float]:
        moved = self.returns @ weights / self.fraction**2
        return {"kelly_fraction": float(np.mean(moved / self._wealth(weights)))}

    def structure(self) -> tuple[str, int]:
        return (type(self).__name__, self.returns.shape[0])
