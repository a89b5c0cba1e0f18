"""L2 and L1 regularisation added to any sizing objective.

The objective becomes f(w) + λ₂ Σ (w_i − t_i)² + λ₁ Σ |w_i|.

λ₂ is ``l2_regularization`` and t the ``l2_target`` (equal weight, target_allocation / n, or the
current book); λ₁ is ``l1_regularization``. Both terms are in the units of f. The L2 term is
smooth; the L1 term is not differentiable at w_i = 0, where its subgradient is the interval
[−λ₁, λ₁]: an asset stays at exactly 0 while the rest of its stationarity identity lies in it,
as the trading cost's no-trade band does around the current weight (sizing/costs.py).

With a fixed budget Σw = target, Σ (w − target/n)² = Σ w² − target²/n, so shrinking towards
equal weight is PyPortfolioOpt's ``L2_reg`` γ‖w‖² (with λ₂ = γ against its w'Σw + γ‖w‖² for
mean-variance utility, λ₂ = γ/2 for minimum variance, since portcon minimises ½ w'Σw).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon.constraints.base import AT_CURRENT, ModelContext
from portcon.constraints.keys import LimitKey
from portcon.errors import LimitsError
from portcon.limits import Limits
from portcon.limits.regularisation_fields import L2Target
from portcon.sizing.objectives import SizingObjective
from portcon.sizing.wrapped import AddedTerms
from portcon.universe import Universe

L2 = "l2_regularization"
L1 = "l1_regularization"


@dataclass(frozen=True, eq=False)
class WithRegularisation(AddedTerms):
    """``inner`` plus λ₂ Σ (w_i − t_i)² + λ₁ Σ |w_i|.

    ``toward`` is t per member; ``toward_per_target`` is ∂t/∂target_allocation (1/n for the
    equal-weight target, 0 for the current book).
    """

    l2: float
    toward: np.ndarray
    toward_per_target: np.ndarray
    l1: float

    meaning: ClassVar[str] = "the sizing objective plus its regularisation terms"

    def describe(self) -> str:
        """The inner objective's meaning, with the regularisation terms."""
        terms = []
        if self.l2 > 0:
            terms.append(f"{L2} × Σ(w − t)²")
        if self.l1 > 0:
            terms.append(f"{L1} × Σ|w|")
        return f"{self.inner.describe()} + {' + '.join(terms)} (in its units)"

    def parameters(self) -> dict[str, float | np.ndarray]:
        values = dict(self.inner.parameters())
        if self.l2 > 0:
            root = float(np.sqrt(self.l2))
            values["regularisation.l2_scale"] = root
            values["regularisation.l2_offset"] = root * self.toward
        if self.l1 > 0:
            values["regularisation.l1_rate"] = np.full(len(self.toward), self.l1)
        return values

    def added_terms(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        terms: cp.Expression = cp.Constant(0.0)
        rows: list[cp.Constraint] = []
        if self.l2 > 0:
            scaled = ctx.parameter("regularisation.l2_scale") * ctx.weights
            terms = terms + cp.sum_squares(scaled - ctx.parameter("regularisation.l2_offset"))
        if self.l1 > 0:
            size = cp.Variable(ctx.size, nonneg=True, name="absolute_weight")
            terms = terms + ctx.parameter("regularisation.l1_rate") @ size
            rows = [size >= ctx.weights, size >= -ctx.weights]
        return terms, rows

    def value(self, weights: np.ndarray, cash: float) -> float:
        shrink = self.l2 * float(np.sum((weights - self.toward) ** 2))
        return self.inner.value(weights, cash) + shrink + self.l1 * float(np.abs(weights).sum())

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = self.inner.subgradient(weights)
        slope = 2.0 * self.l2 * (weights - self.toward)
        at_zero = np.abs(weights) <= AT_CURRENT
        sign = np.sign(weights)
        return (
            lower + slope + self.l1 * np.where(at_zero, -1.0, sign),
            upper + slope + self.l1 * np.where(at_zero, 1.0, sign),
        )

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        inner = self.inner.hessian(weights)
        if inner is None or self.l1 > 0:
            return None  # the L1 term has no Hessian where a weight is 0: no Newton polish
        return inner + 2.0 * self.l2 * np.eye(len(weights))

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        derivatives = dict(self.inner.limit_derivatives(weights, auxiliary_duals))
        gap = weights - self.toward
        derivatives[LimitKey(L2)] = float(gap @ gap)
        derivatives[LimitKey(L1)] = float(np.abs(weights).sum())
        if self.l2 > 0 and np.any(self.toward_per_target):
            key = LimitKey("target_allocation")
            moved = -2.0 * self.l2 * float(gap @ self.toward_per_target)
            derivatives[key] = derivatives.get(key, 0.0) + moved
        return derivatives

    def structure(self) -> Hashable:
        return (type(self).__name__, self.inner.structure(), self.l2 > 0, self.l1 > 0)


def with_regularisation(
    objective: SizingObjective, universe: Universe, limits: Limits, members: np.ndarray
) -> SizingObjective:
    """The objective plus the L2 and L1 terms the Limits ask for (unchanged when none).

    Raises
    ------
    LimitsError
        When l2_target is 'current' and no current book is given.
    """
    l2, l1 = limits.l2_regularization, limits.l1_regularization
    if l2 <= 0 and l1 <= 0:
        return objective
    size = len(members)
    if limits.l2_target == L2Target.CURRENT:
        if universe.current_weight is None and l2 > 0:
            raise LimitsError(
                "l2_target = 'current' needs a current book: give a current_weight column or "
                "current=, or set l2_target = 'equal'"
            )
        current = universe.current_weight
        toward = np.zeros(size) if current is None else current[members].astype(float)
        per_target = np.zeros(size)
    else:
        toward = np.full(size, limits.target_allocation / size)
        per_target = np.full(size, 1.0 / size)
    return WithRegularisation(
        inner=objective, l2=l2, toward=toward, toward_per_target=per_target, l1=l1
    )
