"""Linear trading costs added to any sizing objective: f(w) + κ Σ c_i |w_i − w⁰_i|.

c_i is the cost of trading asset i (``cost_bps`` column or ``transaction_cost_bps``, as a
fraction: 10 bps = 0.001), w⁰ the current weights and κ ``cost_aversion``, the one trade-off
between the sizing objective and costs. The cost is not differentiable at w_i = w⁰_i: its
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

from portcon.constraints.base import ModelContext
from portcon.constraints.keys import LimitKey
from portcon.sizing.objectives import SizingObjective

AT_CURRENT = 1e-9  # a weight this close to its current one is "not traded"


@dataclass(frozen=True, eq=False)
class WithTradingCosts(SizingObjective):
    """``inner`` plus κ Σ c_i |w_i − w⁰_i| (``rate`` = κ c per member, ``current`` = w⁰)."""

    inner: SizingObjective
    rate: np.ndarray
    current: np.ndarray
    cost: np.ndarray  # c per member, for the sensitivity to cost_aversion
    meaning: ClassVar[str] = "the sizing objective plus cost_aversion × trading cost"

    @property
    def free_cash(self) -> bool:  # type: ignore[override]
        return self.inner.free_cash

    @property
    def cash_choice(self) -> str:  # type: ignore[override]
        return self.inner.cash_choice

    def describe(self) -> str:
        """The inner objective's meaning, with the cost term."""
        return f"{self.inner.meaning} + cost_aversion × trading cost (fraction of the portfolio)"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {**self.inner.parameters(), "costs.rate": self.rate, "costs.current": self.current}

    def _cost_term(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        traded = cp.Variable(ctx.size, nonneg=True, name="traded")
        change = ctx.weights - ctx.parameter("costs.current")
        return ctx.parameter("costs.rate") @ traded, [traded >= change, traded >= -change]

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        inner, auxiliary = self.inner.expression(ctx)
        cost, rows = self._cost_term(ctx)
        return inner + cost, [*auxiliary, *rows]

    def value(self, weights: np.ndarray, cash: float) -> float:
        return self.inner.value(weights, cash) + float(self.rate @ np.abs(weights - self.current))

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = self.inner.subgradient(weights)
        change = weights - self.current
        at = np.abs(change) <= AT_CURRENT
        sign = np.sign(change)
        return (
            lower + np.where(at, -self.rate, self.rate * sign),
            upper + np.where(at, self.rate, self.rate * sign),
        )

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return None  # not smooth where a weight sits at its current one: no Newton polish

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        inner = self.inner.perspective(ctx, held, anchors)
        if inner is None:
            return None
        cost, rows = self._cost_term(ctx)
        return inner[0] + cost, [*inner[1], *rows]

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        derivatives = dict(self.inner.limit_derivatives(weights, auxiliary_duals))
        traded = np.abs(weights - self.current)
        derivatives[LimitKey("cost_aversion")] = float(self.cost @ traded)
        return derivatives

    def structure(self) -> Hashable:
        return (type(self).__name__, self.inner.structure())

    def at_current(self, weights: np.ndarray) -> np.ndarray:
        """True for each member held exactly at its current weight (inside its band)."""
        return (np.abs(weights - self.current) <= AT_CURRENT) & (self.current > 0)
