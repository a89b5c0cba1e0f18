"""Long-short rules: per-asset short caps, gross exposure (leverage) and a net exposure range.

- ``max_short_position`` (Limits) and the ``max_short_weight`` column: w_i ≥ −s_i for the assets
  that may go short; the others keep the structural ``long_only`` row w_i ≥ 0.
- ``leverage_limit``: Σ|w_i| ≤ L, one nonsmooth row (a norm-1 cone) like the turnover cap.
- ``min_net_exposure``: min_net_exposure ≤ Σw ≤ target_allocation, replacing the budget row
  Σw + rollover = target_allocation, so the objective chooses the net exposure in the range.

A row's multiplier g is its shadow price (decrease of the optimum per unit increase of its
bound). A short cap's bound is −s, so its price per unit of ``max_short_position`` is −g ≥ 0:
what one more unit of room to short would save.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import (
    AT_CURRENT,
    Block,
    ModelContext,
    PortfolioRow,
    RowBlock,
    Rule,
    Sense,
)
from portcon.constraints.keys import LimitKey
from portcon.constraints.positions import _PerAssetRule

BUDGET = "target_allocation"
NET_FLOOR = "min_net_exposure"


class ShortLimit(_PerAssetRule):
    """w_i ≥ −max_short_position for the assets the Limits allow to go short.

    Dual: per unit of max_short_position, what one more unit of room to short would save.
    """

    limit = "max_short_position"
    sense = Sense.GE


class ColumnShortLimit(_PerAssetRule):
    """w_i ≥ −max_short_weight_i from the scores' ``max_short_weight`` column.

    Not a Limits field: its rows have no sensitivity, only a shadow price per asset.
    """

    limit = "max_short_weight"
    sense = Sense.GE


@dataclass(frozen=True, eq=False, kw_only=True)
class GrossExposureBlock(PortfolioRow):
    """One nonsmooth row: gross exposure Σ|w_i| ≤ bound.

    Its part of stationarity is g · sign(w_i) for a held asset (long or short); for an asset at
    0 it is any value in [−g, g] (:meth:`kink`): the band in which the price of gross
    exposure keeps an asset out on both sides.
    """

    width: int
    smooth: ClassVar[bool] = False

    def held(self, weights: np.ndarray) -> np.ndarray:
        """True for each asset held long or short (beyond solver round-off)."""
        return np.abs(weights) > AT_CURRENT

    def values(self, weights: np.ndarray) -> np.ndarray:
        """Gross exposure at ``weights``."""
        return np.array([float(np.abs(weights).sum())])

    def gradients(self, weights: np.ndarray) -> np.ndarray:
        """sign(w), 0 where the weight is 0, as one row."""
        return (np.sign(weights) * self.held(weights))[None, :]

    def pullback(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """g · sign(w) for held assets, 0 for the others (see :meth:`kink`)."""
        return float(multipliers[0]) * self.gradients(weights)[0]

    def kink(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """Per asset, the half-width of this row's possible part of stationarity: |g| where
        the weight is 0, 0 where it is held."""
        return abs(float(multipliers[0])) * ~self.held(weights)

    def curvature(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray | None:
        """None: piecewise linear."""
        return None

    @property
    def size(self) -> int:
        """Number of assets."""
        return self.width

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """‖w‖₁ ≤ bound."""
        return cp.norm1(ctx.weights) <= ctx.parameter(self.parameter)

    def over(
        self,
        weights: cp.Expression,
        cash: cp.Expression | float,
        bound: cp.Expression | np.ndarray,
    ) -> cp.Constraint:
        """The gross exposure row over any weight expression, with any bound."""
        return cp.norm1(weights) <= bound

    def layout(self) -> Hashable:
        """Shape in the problem."""
        return (self.rule, "gross", self.parameter, self.width)


@dataclass(frozen=True, eq=False)
class GrossExposure(Rule):
    """Σ_i |w_i| ≤ leverage_limit over the members.

    Dual: the objective decrease per unit of extra gross exposure allowed.
    """

    size: int
    bound: float
    limit = "leverage_limit"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.bound)}

    def blocks(self) -> list[Block]:
        return [
            GrossExposureBlock(
                rule=self.limit,
                parameter=self.limit,
                width=self.size,
                bound_derivatives={LimitKey(self.limit): np.ones(1)},
            )
        ]


@dataclass(frozen=True, eq=False)
class NetExposureRange(Rule):
    """min_net_exposure ≤ Σ w_i ≤ target_allocation: the budget as a range, no rollover.

    The objective chooses the net exposure inside the range; what it leaves below
    target_allocation is cash by its choice. Duals: the usual row prices of each end.
    """

    size: int
    target: float
    floor: float

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {BUDGET: float(self.target), NET_FLOOR: float(self.floor)}

    def blocks(self) -> list[RowBlock]:
        ones = sp.csr_array(np.ones((1, self.size)))
        return [
            RowBlock(
                rule=field,
                subjects=("portfolio",),
                sense=sense,
                coefficients=ones,
                parameter=field,
                bound_derivatives={LimitKey(field): np.ones(1)},
            )
            for field, sense in ((BUDGET, Sense.LE), (NET_FLOOR, Sense.GE))
        ]
