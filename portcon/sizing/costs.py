"""Trading costs added to any sizing objective.

The objective becomes f(w) + κ (Σ c_i |w_i − w⁰_i| + η Σ |w_i − w⁰_i|^1.5).

c_i is the linear cost of trading asset i (``cost_bps`` column or ``transaction_cost_bps``, as
a fraction: 10 bps = 0.001), η the ``market_impact`` coefficient, w⁰ the current weights and κ
``cost_aversion``, the one trade-off between the sizing objective and costs. The impact term
is smooth (its slope is 0 at w⁰) and convex; cvxpy states it with second-order cones. The
linear cost is not differentiable at w_i = w⁰_i: its
subgradient there is the whole interval [−κc_i, κc_i], so an asset stays exactly at its
current weight while the rest of its stationarity identity (the sizing objective's marginal
and the limits' prices) lies inside that interval. That interval is the no-trade band.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon.constraints.base import AT_CURRENT, ModelContext
from portcon.constraints.keys import LimitKey
from portcon.sizing.wrapped import AddedTerms

IMPACT_POWER = 1.5

__all__ = ["AT_CURRENT", "WithTradingCosts"]


@dataclass(frozen=True, eq=False)
class WithTradingCosts(AddedTerms):
    """``inner`` plus κ (Σ c_i |w_i − w⁰_i| + η Σ |w_i − w⁰_i|^1.5).

    ``cost`` is c per member, ``current`` w⁰, ``aversion`` κ and ``impact`` η (None: no
    market-impact term).
    """

    cost: np.ndarray
    current: np.ndarray
    aversion: float
    impact: float | None = None
    meaning: ClassVar[str] = "the sizing objective plus cost_aversion × trading cost"

    @property
    def rate(self) -> np.ndarray:
        """κ c per member: the objective's slope of trading one unit of each asset."""
        return self.aversion * self.cost

    def describe(self) -> str:
        """The inner objective's meaning, with the cost term."""
        impact = " + market_impact × Σ|trade|^1.5" if self.impact is not None else ""
        return (
            f"{self.inner.meaning} + cost_aversion × (trading cost{impact}) (fractions of the "
            "portfolio)"
        )

    def _impact_scale(self) -> float:
        """(κη)^(2/3): the impact term is Σ |scale · (w − w⁰)|^1.5 (a DPP-friendly form)."""
        return float(self.aversion * (self.impact or 0.0)) ** (1 / IMPACT_POWER)

    def parameters(self) -> dict[str, float | np.ndarray]:
        values = {**self.inner.parameters(), "costs.rate": self.rate, "costs.current": self.current}
        if self.impact is not None:
            values["costs.impact_scale"] = self._impact_scale()
            values["costs.impact_offset"] = self._impact_scale() * self.current
        return values

    def added_terms(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        traded = cp.Variable(ctx.size, nonneg=True, name="traded")
        change = ctx.weights - ctx.parameter("costs.current")
        cost = ctx.parameter("costs.rate") @ traded
        if self.impact is not None:
            scaled = ctx.parameter("costs.impact_scale") * ctx.weights - ctx.parameter(
                "costs.impact_offset"
            )
            cost = cost + cp.sum(cp.power(cp.abs(scaled), IMPACT_POWER))
        return cost, [traded >= change, traded >= -change]

    def _impact(self, weights: np.ndarray) -> float:
        """η Σ |w − w⁰|^1.5 (0 without the term)."""
        if self.impact is None:
            return 0.0
        return self.impact * float(np.sum(np.abs(weights - self.current) ** IMPACT_POWER))

    def value(self, weights: np.ndarray, cash: float) -> float:
        linear = float(self.rate @ np.abs(weights - self.current))
        return self.inner.value(weights, cash) + linear + self.aversion * self._impact(weights)

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = self.inner.subgradient(weights)
        change = weights - self.current
        at = np.abs(change) <= AT_CURRENT
        sign = np.sign(change)
        impact = self.aversion * (self.impact or 0.0) * IMPACT_POWER
        slope = impact * np.sqrt(np.abs(change)) * sign
        return (
            lower + slope + np.where(at, -self.rate, self.rate * sign),
            upper + slope + np.where(at, self.rate, self.rate * sign),
        )

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return None  # not smooth where a weight sits at its current one: no Newton polish

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        derivatives = dict(self.inner.limit_derivatives(weights, auxiliary_duals))
        traded = np.abs(weights - self.current)
        impact = self._impact(weights)
        derivatives[LimitKey("cost_aversion")] = float(self.cost @ traded) + impact
        if self.impact is not None:
            derivatives[LimitKey("market_impact")] = self.aversion * float(
                np.sum(traded**IMPACT_POWER)
            )
        return derivatives

    def structure(self) -> Hashable:
        return (type(self).__name__, self.inner.structure(), self.impact is not None)

    def at_current(self, weights: np.ndarray) -> np.ndarray:
        """True for each member held exactly at its current weight (inside its band)."""
        return (np.abs(weights - self.current) <= AT_CURRENT) & (self.current != 0)
