"""A printed price's step made exact: the objective at the weights the step leads to.

Within a limit's range (the same active set), the weights of a quadratic program move linearly
with the limit: w(b + δ) = w + δ ∂w/∂b (the weight sensitivity). When the objective is
quadratic in the weights (the share and tier distances, variance, mean-variance, quadratic
Kelly, with the linear cash penalty) and does not itself depend on the limit, the objective
after the step is f(w + δ ∂w/∂b) exactly, so the printed change is what a re-solve gives, not
a first-order guess. Elsewhere (exact Kelly, risk parity, max Sharpe's re-derived γ*, wrapped
objectives, objectives that read the limit) the change stays the first-order −δ × price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from portcon.report.explain import limit_prices
from portcon.sizing.objectives import Proportional, TieredDeviation
from portcon.sizing.risk_objectives import MaxSharpe, MeanVariance, MinimumVariance, QuadraticKelly

if TYPE_CHECKING:
    from portcon.portfolio import Portfolio
    from portcon.report.weight_moves import WeightSensitivity

QUADRATIC = (Proportional, TieredDeviation, MinimumVariance, MeanVariance, QuadraticKelly)


def exact_step_change(
    portfolio: Portfolio, moves: WeightSensitivity, label: str, step: float
) -> float | None:
    """The objective's change when limit ``label`` rises by ``step`` inside its range, or None
    when it is not exact (see the module's note) or the derivative is missing."""
    report = portfolio._report
    program, solution = report.program, report.solution
    objective = program.objective
    if solution is None or objective is None or label not in moves.weights:
        return None
    if type(objective) not in QUADRATIC or isinstance(objective, MaxSharpe):
        return None
    depends = objective.limit_derivatives(solution.weights, solution.auxiliary_duals)
    if any(str(key) == label for key in depends):
        return None
    column = moves.weights[label].to_numpy(dtype=float)
    if not np.all(np.isfinite(column)):
        return None
    if label not in {str(key) for key in limit_prices(program, solution)}:
        return None
    derivative = column[:-1][program.members]
    # the rollover is target − Σw: it moves with the target and against the weights
    rollover = step * ((label == "target_allocation") - float(np.sum(derivative)))
    before = objective.value(solution.weights, solution.cash)
    after = objective.value(solution.weights + step * derivative, solution.cash + rollover)
    return float(after - before)
