"""Portfolio-wide rules: the invested budget, expected return floor, volatility cap."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import Block, RowBlock, Rule, Sense, VolatilityBlock
from portcon.constraints.keys import LimitKey


@dataclass(frozen=True, eq=False)
class TargetAllocation(Rule):
    """Σ w_i + cash = target_allocation, cash ≥ 0 (Σ w_i = target_allocation without rollover).

    ``cash`` here is the part of the target the limits could not absorb (the rollover); the
    rest of the portfolio, 1 − target_allocation, is cash by choice. With
    ``allow_cash_rollover = false`` there is no such cash: the target must be invested, and
    limits that cannot absorb it make the program infeasible.

    Dual: the shadow price is the decrease of the objective per unit increase of
    target_allocation (negative when investing more costs objective).

    ``invested`` (with ``rollover`` off) states the budget as Σ w_i = invested < target: what
    the limits can absorb at most, when the rest is rollover. Its row is then not priced as
    target_allocation, since more target would only be more rollover.
    """

    size: int
    target: float
    rollover: bool = True
    invested: float | None = None
    limit = "target_allocation"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.target if self.invested is None else self.invested)}

    def blocks(self) -> list[RowBlock]:
        return [_budget_row(self.size, self.rollover, bool(self.invested))]


@functools.lru_cache(maxsize=16)
def _budget_row(size: int, rollover: bool, invested: bool) -> RowBlock:
    """The budget row (built once per layout and kept; its bound is a Parameter)."""
    limit = TargetAllocation.limit
    return RowBlock(
        rule=limit,
        subjects=("portfolio",),
        sense=Sense.EQ,
        coefficients=sp.csr_array(np.ones((1, size))),
        parameter=limit,
        bound_derivatives={} if invested else {LimitKey(limit): np.ones(1)},
        includes_cash=rollover,
    )


@dataclass(frozen=True, eq=False)
class MinExpectedReturn(Rule):
    """μᵀw ≥ min_expected_return.

    Dual: the shadow price is negative: raising the floor by one unit raises the objective
    by |shadow price|.
    """

    expected_returns: np.ndarray
    floor: float
    limit = "min_expected_return"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.floor)}

    def blocks(self) -> list[Block]:
        return [
            RowBlock(
                rule=self.limit,
                subjects=("portfolio",),
                sense=Sense.GE,
                coefficients=sp.csr_array(np.atleast_2d(self.expected_returns)),
                parameter=self.limit,
                bound_derivatives={LimitKey(self.limit): np.ones(1)},
            )
        ]


@dataclass(frozen=True, eq=False)
class VolatilityCap(Rule):
    """√(wᵀΣw) ≤ max_portfolio_volatility (a second-order cone constraint, factor form).

    Dual: objective decrease per unit of extra volatility allowed.
    """

    exposures: np.ndarray
    specific: np.ndarray
    cap: float
    limit = "max_portfolio_volatility"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.cap)}

    def blocks(self) -> list[Block]:
        return [
            VolatilityBlock(
                rule=self.limit,
                parameter=self.limit,
                exposures=self.exposures,
                specific=self.specific,
                bound_derivatives={LimitKey(self.limit): np.ones(1)},
            )
        ]
