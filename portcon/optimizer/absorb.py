"""Cash after a solve: rollover only where the limits leave no room, and the seed's
``rollover_threshold`` for the cash a residual strategy leaves.

Each sizing objective prices rollover cash with a penalty ρ chosen to exceed the marginal
value of investing, so that cash appears only when the limits cannot absorb the target. Near
a degenerate limit (a volatility cap just above the least attainable volatility) the price of
investing the last unit can exceed any fixed ρ. So when an answer holds rollover cash, the
least rollover the limits allow is computed (one feasibility program); if the answer leaves
more, the program is solved again with the budget stated exactly: Σ w = target − least.

The residual strategies ``cash`` and ``top_slice`` leave cash on purpose (the raw sizes, or
the top slice's residual caps, stop short of the target). With ``rollover_threshold`` t, cash
the strategy leaves beyond what the hard limits force (every limit but the residual caps) is
kept only when it is at least t; below t it is reinvested: the program is solved again with
the objective ½ Σ w²/w⁰ (w⁰ the strategy's weights) and without the residual caps, so every
position grows by the same factor until a limit holds it, and a position at 0 stays at 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon._text import percent
from portcon.constraints.base import ModelContext, RowBlock, Rule, Sense, slack
from portcon.constraints.portfolio import TargetAllocation
from portcon.constraints.positions import ResidualMultiple, ResidualPerAsset, _PerAssetRule
from portcon.errors import PortconError, TimeLimitError
from portcon.optimizer import time_budget
from portcon.optimizer.model import checkout
from portcon.optimizer.polish import ACTIVE, polish
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.sizing.objectives import (
    Reinvested,
    SizingObjective,
    TieredDeviation,
    TieredTopSlice,
)
from portcon.sizing.wrapped import innermost, rewrapped

ABSORBED = 1e-7  # rollover within this of the least attainable counts as the least
MARGIN = 1e-9  # kept from the least rollover, so the exact budget stays feasible
FEASIBLE = 1e-9
TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
HELD = 1e-10  # a strategy weight above this is a position that shares in a reinvestment


class LeastCash(SizingObjective):
    """minimise cash: the feasibility program of :func:`least_rollover`."""

    meaning: ClassVar[str] = "cash left uninvested (fraction of the book)"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        return ctx.cash, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        return cash

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros_like(weights), np.zeros_like(weights)


def least_rollover(program: Program) -> float | None:
    """The least rollover cash any weights within the limits leave (None: not solved).

    Solved on a pooled model of the program's rows with the objective "least cash", so a
    second call of the same structure only re-binds its Parameters.
    """
    with checkout(dataclasses.replace(program, objective=LeastCash())) as model:
        problem = model.for_solver("CLARABEL")
        try:
            time_budget.solve_within(
                problem,
                "CLARABEL",
                "the least rollover could be found",
                warm_start=False,
                **TIGHT,
            )
        except cp.error.SolverError:
            return None
        cash = model.context.cash.value
        if problem.status != cp.OPTIMAL or cash is None:
            return None
        return max(0.0, float(cash))


class NotReinvested(_PerAssetRule):
    """w_i ≤ 0 for a member the residual strategy left at 0: reinvesting opens no position."""

    limit = "rollover_threshold"


def settle_cash(
    program: Program, solution: Solution, solve: Callable[[Program], Solution]
) -> tuple[Program, Solution, tuple[str, ...]]:
    """:func:`exact_free_cash`, :func:`absorb_cash`, then :func:`reinvest_small_residual`;
    with a note when the last acted."""
    solution = exact_free_cash(program, solution)
    program, solution = absorb_cash(program, solution, solve)
    return reinvest_small_residual(program, solution, solve)


def exact_free_cash(program: Program, solution: Solution) -> Solution:
    """The cash strategy's answer polished with its budget price at 0 where it holds cash.

    Cash costs residual_strategy 'cash' nothing, so while the answer holds cash the budget
    row's price is 0. Where the raw sizes exactly fill the target and no limit binds (every
    share mode's case), the optimum (w = raw, no cash) is degenerate: the interior-point
    answer holds ~1e-6 of cash with a matching price, and the polish, which keeps a cash row's
    price as the solver gave it, cannot move. From price 0 it lands on the exact point; the
    result is kept only if every row holds and it invests no more than the target.
    """
    if not isinstance(innermost(program.require_objective()), TieredDeviation):
        return solution
    if solution.cash <= ACTIVE:
        return solution
    multipliers = [
        np.zeros_like(prices) if isinstance(block, RowBlock) and block.includes_cash else prices
        for block, prices in zip(solution.blocks, solution.multipliers, strict=True)
    ]
    start = dataclasses.replace(solution, multipliers=multipliers)
    polished = polish(program, start, complementary=False)
    target = program.limits.target_allocation
    if polished is start or not _within(polished) or polished.weights.sum() > target + FEASIBLE:
        return solution
    return polished


def reinvest_small_residual(
    program: Program, solution: Solution, solve: Callable[[Program], Solution]
) -> tuple[Program, Solution, tuple[str, ...]]:
    """Cash a residual strategy left below ``rollover_threshold``, invested in proportion.

    Unchanged (and no note) unless the threshold is set, the objective is the cash or
    top-slice strategy's and the cash it left beyond what the hard limits force is positive
    and below the threshold; also unchanged if the re-solve fails or breaks a row.
    """
    threshold = program.limits.rollover_threshold
    objective = program.require_objective()
    strategy = innermost(objective)
    unchanged: tuple[Program, Solution, tuple[str, ...]] = (program, solution, ())
    if (
        threshold is None
        or not isinstance(strategy, TieredDeviation | TieredTopSlice)
        or solution.cash <= ABSORBED
        or not np.any(solution.weights > HELD)
    ):
        return unchanged
    hard = dataclasses.replace(
        program,
        rules=[r for r in program.rules if not isinstance(r, ResidualPerAsset | ResidualMultiple)],
    )
    least = least_rollover(hard)
    if least is None or not ABSORBED < solution.cash - least < threshold:
        return unchanged
    leftover = solution.cash - least
    candidate = dataclasses.replace(
        hard,
        objective=rewrapped(
            objective, _reinvested(strategy, solution.weights, leftover, threshold)
        ),
        rules=[*hard.rules, *_zero_members(hard, solution.weights)],
    )
    try:
        candidate, answer = absorb_cash(candidate, solve(candidate), solve)
    except TimeLimitError:
        raise  # the call's budget, not this step's failure: no answer is better than a worse one
    except PortconError:
        return unchanged
    if not _within(answer) or answer.cash > least + ABSORBED:
        return unchanged
    note = (
        f"rollover_threshold {percent(threshold)}: the {percent(leftover)} the residual "
        "strategy left in cash was reinvested, every position scaled up in proportion within "
        "its limits"
    )
    return candidate, answer, (note,)


def _reinvested(
    strategy: SizingObjective, weights: np.ndarray, leftover: float, threshold: float
) -> Reinvested:
    held = weights > HELD
    shares = np.where(held, weights, weights[held].min())  # the others are held at 0 by rows
    shares = shares / shares.sum()
    return Reinvested(
        shares=shares,
        cash_penalty=1.0 + 1.0 / float(shares.min()),
        first=strategy,
        before=weights.copy(),
        leftover=leftover,
        threshold=threshold,
    )


def _zero_members(program: Program, weights: np.ndarray) -> list[Rule]:
    """Rows w_i ≤ 0 for members at 0 that no single-asset row already holds there."""
    zero = weights <= HELD
    values = program.parameters()
    for block in program.blocks:
        if not isinstance(block, RowBlock) or block.sense == Sense.GE:
            continue
        bound = block.bound_values(values)
        matrix = block.coefficients
        for row in np.flatnonzero((np.diff(matrix.indptr) == 1) & (bound <= 0)):
            if matrix.data[matrix.indptr[row]] > 0:
                zero[matrix.indices[matrix.indptr[row]]] = False
    if not zero.any():
        return []
    positions = np.flatnonzero(zero)
    return [
        NotReinvested(
            assets=tuple(program.assets[k] for k in positions),
            bound=np.zeros(len(positions)),
            derivatives={},
            positions=positions,
            size=len(program.members),
        )
    ]


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
    except TimeLimitError:
        raise
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
