"""Risk-based sizing objectives: minimum variance, mean-variance, Kelly (quadratic and exact).

Risk is always in factor form, wᵀΣw = ‖Gᵀw‖² + ‖d∘w‖², through the model's risk Parameters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.constraints.keys import LimitKey
from portcon.errors import LimitsError
from portcon.market import MarketData
from portcon.sizing.objectives import SizingObjective, perspective_squares


def _covariance_times(market: MarketData, weights: np.ndarray) -> np.ndarray:
    exposures, specific = market.require_risk()
    return exposures @ (exposures.T @ weights) + specific**2 * weights


def _variance(market: MarketData, weights: np.ndarray) -> float:
    return float(weights @ _covariance_times(market, weights))


def _covariance(market: MarketData) -> np.ndarray:
    return market.covariance()


def _covariance_parts(market: MarketData, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """scale · Σ as diag(scale · d²) + (√scale G)(√scale G)ᵀ: no N × N matrix."""
    exposures, specific = market.require_risk()
    return scale * specific**2, np.sqrt(scale) * exposures


def _largest_variance(market: MarketData) -> float:
    return float(np.max(market.volatility() ** 2))


def _linear_term(
    coefficients: cp.Expression, variables: cp.Variable
) -> tuple[cp.Variable, cp.Constraint]:
    """cᵀx as a scalar variable v with the row v = cᵀx: the same program, compiled lean.

    cvxpy's DPP compilation stores the objective's linear coefficients as a dense matrix of
    (variables in the objective) × (every Parameter entry of the problem): with μᵀw in the
    objective that is N × (N k + …) numbers, 450 MB at N = 2000 with 10 factors and 9.6 GB at
    N = 10,000. With v in the objective it is a few rows; the row v = cᵀx is stored sparse.
    """
    value = cp.Variable()
    return value, value == coefficients @ variables


def _scaled_risk_parameters(market: MarketData, scale: float) -> dict[str, np.ndarray]:
    """√scale · G and √scale · d: a weighted risk term stays DPP (no Parameter × Parameter)."""
    root = np.sqrt(scale)
    exposures, specific = market.require_risk()
    return {
        "sizing.risk_exposures": root * exposures,
        "sizing.risk_specific": root * specific,
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

    meaning: ClassVar[str] = "½ × portfolio variance (annualised like the risk model)"
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

    def hessian_parts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return _covariance_parts(self.market, 1.0)

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        risk, cone = _perspective_risk(self.market, ctx, held, anchors)
        penalty = 1.0 + 2.0 * _largest_variance(self.market)
        return 0.5 * risk + penalty * ctx.cash, cone


@dataclass(frozen=True, eq=False)
class MeanVariance(SizingObjective):
    """minimise −μᵀw + (γ/2) wᵀΣw + ρ · cash (PyPortfolioOpt's quadratic utility, negated).

    γ is ``risk_aversion``; the target is fully invested unless the limits cannot absorb it.
    """

    meaning: ClassVar[str] = (
        "−(expected return − γ/2 × variance), the negated utility in annual return units"
    )

    market: MarketData
    risk_aversion: float

    def gain(self) -> np.ndarray:
        """The vector g of the linear term −gᵀw: the expected returns μ."""
        return self.market.require_expected_returns()

    def _penalty(self) -> float:
        largest_return = float(np.max(np.abs(self.gain())))
        return 1.0 + 2.0 * (largest_return + self.risk_aversion * _largest_variance(self.market))

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.mu": self.gain(),
            "sizing.cash_penalty": self._penalty(),
            **_scaled_risk_parameters(self.market, 0.5 * self.risk_aversion),
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        gain, row = _linear_term(ctx.parameter("sizing.mu"), ctx.weights)
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        return -gain + _scaled_risk(ctx) + penalty, [row]

    def value(self, weights: np.ndarray, cash: float) -> float:
        gain = float(self.gain() @ weights)
        risk = 0.5 * self.risk_aversion * _variance(self.market, weights)
        return -gain + risk + self._penalty() * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = -self.gain() + self.risk_aversion * _covariance_times(self.market, weights)
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return self.risk_aversion * _covariance(self.market)

    def hessian_parts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return _covariance_parts(self.market, self.risk_aversion)

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        risk, cone = _perspective_risk(self.market, ctx, held, anchors)
        gain = self.gain() @ ctx.weights
        return -gain + 0.5 * self.risk_aversion * risk + self._penalty() * ctx.cash, cone

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        return {LimitKey("risk_aversion"): 0.5 * _variance(self.market, weights)}


@dataclass(frozen=True, eq=False)
class MaxSharpe(MeanVariance):
    """Mean-variance at the risk aversion γ* whose answer is the maximum-Sharpe portfolio.

    γ* is fixed by the data and limits (see :mod:`portcon.sizing.sharpe`); it is not a
    Limits field, so no sensitivity is reported for it.
    """

    meaning: ClassVar[str] = (
        "−(expected return − γ*/2 × variance) at the maximum-Sharpe risk aversion γ*, "
        "in annual return units"
    )

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        return {}


@dataclass(frozen=True, eq=False)
class MaxDiversification(MaxSharpe):
    """Mean-variance with μ replaced by the volatilities σ, at the γ* whose answer is the
    maximum-diversification portfolio (most σᵀw / √(wᵀΣw); see
    :mod:`portcon.sizing.diversification`). Like γ* of max_sharpe, γ* is not a Limits field.
    """

    meaning: ClassVar[str] = (
        "−(σᵀw − γ*/2 × variance) at the maximum-diversification risk aversion γ*, σ the "
        "assets' volatilities: in annual volatility units"
    )

    def gain(self) -> np.ndarray:
        """The assets' volatilities σ = √diag Σ (the numerator of the diversification ratio)."""
        return self.market.volatility()

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        """Reached only by a count search (a min_weight_if_held column): refused."""
        from portcon.sizing.diversification import count_message

        raise LimitsError(count_message("a min_weight_if_held column"))


@dataclass(frozen=True, eq=False)
class QuadraticKelly(SizingObjective):
    """minimise −μᵀw + wᵀΣw / (2κ): the Gaussian approximation of log growth, κ-fractional.

    Unconstrained, w = κ Σ⁻¹μ. Cash is free: the target is a ceiling, not a goal.
    """

    meaning: ClassVar[str] = (
        "−(μᵀw − wᵀΣw/2κ), the negated Gaussian approximation of annual log growth"
    )
    free_cash: ClassVar[bool] = True
    cash_choice: ClassVar[str] = (
        "fractional Kelly invests only while a unit more raises expected log growth"
    )

    market: MarketData
    fraction: float

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.mu": self.market.require_expected_returns(),
            **_scaled_risk_parameters(self.market, 0.5 / self.fraction),
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        gain, row = _linear_term(ctx.parameter("sizing.mu"), ctx.weights)
        return -gain + _scaled_risk(ctx), [row]

    def value(self, weights: np.ndarray, cash: float) -> float:
        gain = float(self.market.require_expected_returns() @ weights)
        return -gain + 0.5 / self.fraction * _variance(self.market, weights)

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = (
            -self.market.require_expected_returns()
            + _covariance_times(self.market, weights) / self.fraction
        )
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return _covariance(self.market) / self.fraction

    def hessian_parts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return _covariance_parts(self.market, 1.0 / self.fraction)

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        risk, cone = _perspective_risk(self.market, ctx, held, anchors)
        return (
            -self.market.require_expected_returns() @ ctx.weights + 0.5 / self.fraction * risk,
            cone,
        )

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        return {
            LimitKey("kelly_fraction"): -0.5 / self.fraction**2 * _variance(self.market, weights)
        }


@dataclass(frozen=True, eq=False)
class ExactKelly(SizingObjective):
    """minimise −mean_t log(1 + r_tᵀw / κ): log growth of the κ-scaled bet over the history.

    Unconstrained, w = κ × (the full-Kelly weights). Cash is free.
    """

    meaning: ClassVar[str] = "−mean log growth per return period of the κ-scaled bet"
    free_cash: ClassVar[bool] = True
    cash_choice: ClassVar[str] = (
        "exact fractional Kelly invests only while a unit more raises mean log growth"
    )

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
    ) -> dict[LimitKey, float]:
        moved = self.returns @ weights / self.fraction**2
        return {LimitKey("kelly_fraction"): float(np.mean(moved / self._wealth(weights)))}

    def structure(self) -> tuple[str, int]:
        return (type(self).__name__, self.returns.shape[0])


@dataclass(frozen=True, eq=False)
class RiskParity(SizingObjective):
    """minimise ½ wᵀΣw − t Σ b_i log w_i + ρ · cash: risk budgeting in weight space.

    The risk contribution of asset i is RC_i = w_i (Σw)_i. Stationarity reads
    RC_i = t b_i − w_i (ν + λ_i + …): with t chosen so that the unconstrained solution already
    invests the target (ν = 0), an answer where no limit binds has RC_i = t b_i exactly —
    risk contributions in proportion to the budgets. Where limits bind, the answer is the
    constrained risk-budgeting portfolio: the least risky portfolio among those keeping the
    budget-weighted log-diversification Σ b_i log w_i at its level; each binding limit shows
    in the explanations as the part of an asset's risk contribution it removes or adds.
    """

    meaning: ClassVar[str] = (
        "½ variance − t Σ b_i log w_i, the risk-budgeting function (variance units)"
    )

    market: MarketData
    budgets: np.ndarray
    target: float

    def _log_weight(self) -> np.ndarray:
        return self._log_weights

    @functools.cached_property
    def _log_weights(self) -> np.ndarray:  # Spinu's Newton once per objective, not per use
        unconstrained = spinu(self.market, self.budgets)
        return (self.target / unconstrained.sum()) ** 2 * self.budgets

    def _penalty(self) -> float:
        return 1.0 + 2.0 * _largest_variance(self.market)

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {"sizing.log_weight": self._log_weight(), "sizing.cash_penalty": self._penalty()}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        # hypograph u ≤ log w keeps the Parameter on an affine term (DPP whatever its sign)
        logs = cp.Variable(ctx.size, name="log_weights")
        diversification, row = _linear_term(ctx.parameter("sizing.log_weight"), logs)
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        objective = 0.5 * cp.sum_squares(ctx.risk()) - diversification + penalty
        return objective, [logs <= cp.log(ctx.weights), row]

    def value(self, weights: np.ndarray, cash: float) -> float:
        with np.errstate(divide="ignore"):
            logs = np.log(weights)
        diversification = float(self._log_weight() @ logs)
        return 0.5 * _variance(self.market, weights) - diversification + self._penalty() * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = _covariance_times(self.market, weights) - self._log_weight() / weights
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return _covariance(self.market) + np.diag(self._log_weight() / weights**2)

    def hessian_parts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        diagonal, low_rank = _covariance_parts(self.market, 1.0)
        return diagonal + self._log_weight() / weights**2, low_rank

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        # t ∝ target²: ∂f/∂target = −(2 / target) Σ t b_i log w_i
        return {
            LimitKey("target_allocation"): -2.0
            / self.target
            * float(self._log_weight() @ np.log(weights))
        }


def spinu(market: MarketData, budgets: np.ndarray, tolerance: float = 1e-14) -> np.ndarray:
    """argmin_y ½ yᵀΣy − Σ b_i log y_i (Spinu's risk-budgeting problem), by damped Newton.

    At the minimum y_i (Σy)_i = b_i: risk contributions equal the budgets. Σ stays in factor
    form: each Newton system (diag(d²) + b/y² + G Gᵀ) is solved by the Woodbury identity on
    the k factors, so no N × N matrix is built unless the risk model has N factors.
    """
    y = budgets / np.sqrt(np.maximum(market.volatility() ** 2, 1e-300))
    y = y / np.sqrt(max(_variance(market, y), 1e-300))
    for _ in range(200):
        gradient = _covariance_times(market, y) - budgets / y
        if np.max(np.abs(gradient * y)) < tolerance:
            break
        step = _factor_solve(market, budgets / y**2, -gradient)
        scale = 1.0
        while np.any(y + scale * step <= 0):
            scale *= 0.5
        y = y + scale * step
    return y


def _factor_solve(market: MarketData, extra: np.ndarray, right: np.ndarray) -> np.ndarray:
    """x with (Σ + diag(extra)) x = right, Σ = G Gᵀ + diag(d²), extra + d² > 0 (Woodbury)."""
    exposures, specific = market.require_risk()
    inverse = 1.0 / (specific**2 + extra)
    scaled = exposures * inverse[:, None]
    capacitance = np.eye(exposures.shape[1]) + exposures.T @ scaled
    return inverse * right - scaled @ np.linalg.solve(capacitance, scaled.T @ right)


def _perspective_risk(
    market: MarketData, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """wᵀΣw with its specific part ‖d∘w‖² in perspective form."""
    squares, cone = perspective_squares(ctx.weights, held, anchors)
    exposures, specific = market.require_risk()
    factor = cp.sum_squares(exposures.T @ ctx.weights)
    return factor + (specific**2) @ squares, cone
