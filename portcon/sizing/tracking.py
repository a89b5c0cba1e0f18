"""Benchmark-relative sizing: minimum tracking error and active mean-variance.

With the benchmark b (the scores' ``benchmark_weight`` column) and active weights a = w − b:

- ``min_tracking_error`` minimises ½ aᵀΣa: the portfolio closest to the benchmark in risk
  within the limits. Without binding limits (and target_allocation = Σb) it is b itself.
- ``active_mean_variance`` minimises −μᵀa + (γ/2) aᵀΣa (γ = ``risk_aversion``, the
  convention of ``mean_variance``): the most active return for its tracking variance. Without
  limits, a = Σ⁻¹(μ − ν1)/γ with ν the budget's price.

Both read risk through :class:`~portcon.constraints.benchmark.ActiveRisk` (factor form, the
benchmark's holdings outside the book as constants). Their gradient, Σa (plus −μ), is what the
explanations' ``sizing`` column shows: the marginal tracking variance of each asset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import cvxpy as cp
import numpy as np

from portcon._text import percent
from portcon.constraints.base import ModelContext
from portcon.constraints.benchmark import ActiveRisk
from portcon.constraints.keys import LimitKey
from portcon.errors import InputError
from portcon.limits import SizingMode
from portcon.market import MarketData
from portcon.sizing.modes import Candidates, _RiskBased
from portcon.sizing.objectives import SizingObjective

if TYPE_CHECKING:
    from portcon.optimizer.program import Program
    from portcon.universe import Universe

OBJECTIVE = "sizing.active"


def _penalty(active: ActiveRisk, gross: float, gain: float = 0.0, scale: float = 1.0) -> float:
    """A cash price above every marginal: |(Σa)_i| ≤ max Σ_jj · Σ|a_j| ≤ max Σ_jj (gross + 1)."""
    largest = float(np.max(np.sum(active.exposures**2, axis=1) + active.specific**2, initial=0))
    return 1.0 + 2.0 * (gain + scale * largest * (gross + 1.0))


@dataclass(frozen=True, eq=False)
class MinTrackingError(SizingObjective):
    """minimise ½ (w−b)ᵀΣ(w−b) + ρ · cash: the least tracking error investing the target.

    ρ exceeds every marginal (Σa)_i, so cash is used only when the limits cannot absorb the
    target.
    """

    meaning: ClassVar[str] = "½ × tracking error² (annualised like the risk model)"
    active: ActiveRisk
    cash_penalty: float

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {"sizing.cash_penalty": self.cash_penalty, **self.active.parameters(OBJECTIVE)}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        stacked = self.active.stacked(
            ctx, OBJECTIVE, ctx.parameter("risk.exposures"), ctx.parameter("risk.specific")
        )
        return 0.5 * cp.sum_squares(stacked) + ctx.parameter("sizing.cash_penalty") * ctx.cash, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        return 0.5 * self.active.variance(weights) + self.cash_penalty * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = self.active.active_times(weights)
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return self.active.covariance()


@dataclass(frozen=True, eq=False)
class ActiveMeanVariance(SizingObjective):
    """minimise −μᵀ(w−b) + (γ/2)(w−b)ᵀΣ(w−b) + ρ · cash: mean-variance of the active weights.

    γ is ``risk_aversion``; its price in ``sensitivity()`` is −½ TE² by the envelope theorem.
    """

    meaning: ClassVar[str] = (
        "−(active expected return − γ/2 × tracking error²), in annual return units"
    )
    active: ActiveRisk
    expected_returns: np.ndarray
    benchmark_return: float
    risk_aversion: float
    cash_penalty: float

    def parameters(self) -> dict[str, float | np.ndarray]:
        scale = 0.5 * self.risk_aversion
        root = np.sqrt(scale)
        return {
            "sizing.mu": self.expected_returns,
            "sizing.cash_penalty": self.cash_penalty,
            "sizing.risk_exposures": root * self.active.exposures,
            "sizing.risk_specific": root * self.active.specific,
            **self.active.parameters(OBJECTIVE, scale),
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        stacked = self.active.stacked(
            ctx,
            OBJECTIVE,
            ctx.parameter("sizing.risk_exposures"),
            ctx.parameter("sizing.risk_specific"),
        )
        gain = ctx.parameter("sizing.mu") @ ctx.weights
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        return -gain + cp.sum_squares(stacked) + penalty, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        gain = float(self.expected_returns @ weights) - self.benchmark_return
        risk = 0.5 * self.risk_aversion * self.active.variance(weights)
        return -gain + risk + self.cash_penalty * cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = -self.expected_returns + self.risk_aversion * self.active.active_times(weights)
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return self.risk_aversion * self.active.covariance()

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        return {LimitKey("risk_aversion"): 0.5 * self.active.variance(weights)}


def with_benchmark(
    candidates: Candidates, universe: Universe, market: MarketData, members: np.ndarray
) -> Candidates:
    """``candidates`` with the benchmark in the members' risk model (``market`` universe-wide),
    when the scores have a benchmark_weight column and there is a risk model."""
    if universe.benchmark_weight is None or not market.has_risk or not len(members):
        return candidates
    exposures, specific = market.require_risk()
    active = ActiveRisk.of(exposures, specific, universe.benchmark_weight, members)
    benchmark_return = None
    if market.expected_returns is not None:
        benchmark_return = float(market.expected_returns @ universe.benchmark_weight)
    return replace(candidates, active=active, benchmark_return=benchmark_return)


class _Relative(_RiskBased):
    """Modes sized against the benchmark (the benchmark_weight column, checked by
    :func:`~portcon.constraints.benchmark_checks.require_benchmark`)."""

    def gross(self) -> float:
        """The most gross exposure the limits allow (for the cash price)."""
        leverage = self.limits.leverage_limit
        if leverage is not None:
            return leverage
        return 1.0 if not self.limits.allow_short else 2.0 * max(1.0, self.limits.target_allocation)

    def sentence(
        self, program: Program, objective: SizingObjective | None, position: int, weight: float
    ) -> str:
        """'sized 4.2% by minimum tracking error: benchmark 5.0%, active −0.8%'."""
        benchmark = program.universe.benchmark_weight
        held = 0.0 if benchmark is None else float(benchmark[program.members[position]])
        active = weight - held
        sign = "+" if active >= 0 else "−"
        return (
            f"sized {percent(weight)} by {self.phrase}: benchmark {percent(held)}, active "
            f"{sign}{percent(abs(active))}"
        )


class MinTrackingErrorSizing(_Relative):
    """The portfolio of least tracking error against the benchmark, within the limits."""

    mode = SizingMode.MIN_TRACKING_ERROR
    phrase = "minimum tracking error"

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        active = _require(candidates)
        return MinTrackingError(active=active, cash_penalty=_penalty(active, self.gross()))


class ActiveMeanVarianceSizing(_Relative):
    """Maximise μᵀ(w−b) − (γ/2)(w−b)ᵀΣ(w−b) within the limits."""

    mode = SizingMode.ACTIVE_MEAN_VARIANCE
    phrase = "active mean-variance utility"
    needs_returns = True

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        active = _require(candidates)
        mu = candidates.market.require_expected_returns()
        gamma = self.limits.risk_aversion
        largest = float(np.max(np.abs(mu), initial=0.0))
        return ActiveMeanVariance(
            active=active,
            expected_returns=mu,
            benchmark_return=float(candidates.benchmark_return or 0.0),
            risk_aversion=gamma,
            cash_penalty=_penalty(active, self.gross(), gain=largest, scale=gamma),
        )


def _require(candidates: Candidates) -> ActiveRisk:
    if candidates.active is None:  # sizes() refused this before
        raise InputError("no benchmark: add a 'benchmark_weight' column to the scores")
    return candidates.active
