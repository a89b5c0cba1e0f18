"""Portfolio-wide rules: the invested budget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense


@dataclass(frozen=True, eq=False)
class TargetAllocation(Rule):
    """Σ w_i + cash = target_allocation, cash ≥ 0.

    ``cash`` here is the part of the target the limits could not absorb (the rollover); the
    rest of the portfolio, 1 − target_allocation, is cash by choice.

    Dual: the shadow price is the decrease of the objective per unit increase of
    target_allocation (negative when investing more costs objective).
    """

    size: int
    target: float
    limit = "target_allocation"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.target)}

    def blocks(self) -> list[RowBlock]:
        return [
            RowBlock(
                rule=self.limit,
                subjects=("portfolio",),
                sense=Sense.EQ,
                coefficients=sp.csr_array(np.ones((1, self.size))),
                parameter=self.limit,
                bound_derivatives={self.limit: np.ones(1)},
                includes_cash=True,
            )
        ]
