"""Rollover cash only where the limits leave no room: never cash the limits could absorb.

Each sizing objective prices rollover cash with a penalty ρ chosen to exceed the marginal
value of investing, so that cash appears only when the limits cannot absorb the target. Near
a degenerate limit (a volatility cap just above the least attainable volatility) the price of
investing the last unit can exceed any fixed ρ. So when an answer holds rollover cash, the
least rollover the limits allow is computed (one feasibility program); if the answer leaves
more, the program is solved again with the budget stated exactly: Σ w = target − least.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import cvxpy as cp
import numpy as np

from portcon.constraints.base import Sense, slack
from portcon.constraints.portfolio import TargetAllocation
from portcon.errors import PortconError
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution

ABSORBED = 1e-7  # rollover within this of the least attainable counts as the least
MARGIN = 1e-9  # kept from the least rollover, so the exact budget stays feasible
FEASIBLE = 1e-9
TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def least_rollover(program: Program) -> float | None:
    """The least rollover cash any weights within the limits leave (None: not solved)."""
    values = program.parameters()
    weights = cp.Variable(len(program.members))
    cash = cp.Variable(nonneg=True)
    rows = [block.over(weights, cash, block.bound_values(values)) for block in program.blocks]
    problem = cp.Problem(cp.Minimize(cash), rows)
    try:
        problem.solve(solver="CLARABEL", **TIGHT)
    except cp.error.SolverError:
        return None
    if problem.status != cp.OPTIMAL or cash.value is None:
        return None
    return max(0.0, float(cash.value))


def absorb_cash(
    program: Program, solution: Solution, solve: Callable[[Program], Solution]
) -> tuple[Program, Solution]:
    """The program and solution that invest all the limits allow (unchanged when they do)."""
    if program.require_objective().free_cash or solution.cash <= ABSORBED:
        return program, solution
    least = least_rollover(program)
    if least is None or solution.cash <= least + ABSORBED:
        return program, solution
    target = program.limits.target_allocation
    rules = [
        TargetAllocation(
            size=rule.size, target=target, rollover=False, invested=target - least - MARGIN
        )
        if isinstance(rule, TargetAllocation)
        else rule
        for rule in program.rules
    ]
    exact = dataclasses.replace(program, rules=rules)
    try:
        answer = solve(exact)
    except PortconError:
        return program, solution
    if not _within(answer) or answer.cash > solution.cash or not _finite(exact, answer):
        return program, solution
    return exact, answer


def _finite(program: Program, solution: Solution) -> bool:
    """The objective and its marginals are finite (a log barrier at 0 is not an answer)."""
    with np.errstate(all="ignore"):
        lower, upper = program.require_objective().subgradient(solution.weights)
    return bool(
        np.isfinite(solution.objective)
        and np.all(np.isfinite(lower))
        and np.all(np.isfinite(upper))
    )


def _within(solution: Solution) -> bool:
    """Every row of the solution holds to the checker's tolerance."""
    for block in solution.blocks:
        if block.sense == Sense.EQ:
            continue  # the budget: Σw is target − cash by construction of the cash
        gap = slack(
            block.sense, block.values(solution.weights), block.bound_values(solution.bounds)
        )
        if np.any(gap < -FEASIBLE):
            return False
    return True
