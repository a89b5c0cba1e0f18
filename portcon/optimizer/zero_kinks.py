"""Exact zeros where a kink at 0 holds a weight: the gross exposure row and the L1 penalty.

Σ|w| ≤ leverage_limit and λ₁Σ|w| are not differentiable at w_i = 0, so "not held" is an exact
answer there, which an interior-point solver only approaches (~1e-9 was seen). Weights within
1e-7 of 0 (the tolerance the attribution reads as 0) are set to 0 and what they held moves to
the largest position, so the budget and every total keep their value; the independent check
still guards the result.
"""

from __future__ import annotations

import numpy as np

from portcon.constraints.base import AT_CURRENT
from portcon.constraints.exposure import GrossExposureBlock
from portcon.optimizer.program import Program
from portcon.sizing.costs import WithTradingCosts
from portcon.sizing.regularisation import WithRegularisation


def has_zero_kink(program: Program) -> bool:
    """True when the gross exposure row or an L1 penalty has a kink at 0."""
    if any(isinstance(block, GrossExposureBlock) for block in program.blocks):
        return True
    objective = program.objective
    if isinstance(objective, WithTradingCosts):
        objective = objective.inner
    return isinstance(objective, WithRegularisation) and objective.l1 > 0


def snap_to_zero(program: Program, weights: np.ndarray) -> np.ndarray:
    """``weights`` with those within 1e-7 of 0 set to 0 where a kink at 0 can hold them."""
    if not has_zero_kink(program):
        return weights
    near = (np.abs(weights) <= AT_CURRENT) & (weights != 0)
    if not near.any() or near.all():
        return weights
    snapped = np.where(near, 0.0, weights)
    snapped[int(np.argmax(np.abs(snapped)))] += float(weights[near].sum())
    return snapped
