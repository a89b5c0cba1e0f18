"""The minimum trade size: no trade smaller than ``min_trade_size`` (a mixed-integer step).

Each member's trade is 0, a buy of at least m or a sale of at least m (a whole position
smaller than m may still be closed): a disjunction, so the step chooses each trade's
direction with binaries u_i ("buy"), d_i ("sell"):

    w − w⁰ = b − s,  m u ≤ b ≤ (1 − w⁰) u,  min(m, w⁰) d ≤ s ≤ w⁰ d,  u + d ≤ 1,

with every other row of the program, solved by SCIP (in its worker process). The program is
then restated with the chosen pattern as rows (:class:`TradePattern`) and solved convexly,
so weights, prices and explanations are those of the chosen pattern. The step runs only when
the convex answer trades less than m somewhere; when position counts are also in force, the
held set is chosen first and the trades within it.
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np

from portcon._text import listing, percent
from portcon.constraints.base import ModelContext
from portcon.constraints.trade_sizes import TradePattern
from portcon.counts.formulation import objective_scale
from portcon.counts.mip import run_scip
from portcon.errors import InfeasibleError, LimitsError
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.sizing.risk_objectives import MaxSharpe
from portcon.sizing.wrapped import innermost

SMALL = 1e-9  # a trade this far below min_trade_size still meets it (solver accuracy)


def too_small(program: Program, weights: np.ndarray) -> np.ndarray:
    """Per member: a trade that is neither zero, nor at least m, nor a close."""
    minimum = program.limits.min_trade_size
    current = _current(program)
    if minimum is None:
        return np.zeros(len(weights), dtype=bool)
    change = np.abs(weights - current)
    closed = (weights <= SMALL) & (current < minimum)
    return (change > SMALL) & (change < minimum - SMALL) & ~closed


def choose_trades(program: Program, solution: Solution) -> tuple[Program, str] | None:
    """The program with each trade's direction fixed and a note saying how they were chosen,
    or None when ``solution`` already trades nothing smaller than ``min_trade_size`` (or the
    limit is off).

    Raises
    ------
    LimitsError
        Under max_sharpe (its γ* would need re-deriving for every pattern: not available).
    InfeasibleError
        When SCIP proves no pattern meets the other limits.
    """
    limits = program.limits
    if limits.min_trade_size is None or not np.any(too_small(program, solution.weights)):
        return None
    objective = program.require_objective()
    if isinstance(innermost(objective), MaxSharpe):  # under costs and regularisation too
        raise LimitsError(
            f"min_trade_size is not available with sizing_mode '{limits.sizing_mode.value}' yet "
            "(its γ* would move with every trade pattern); use mean_variance (with "
            "risk_aversion) or drop min_trade_size"
        )
    direction, note = _directions(program, solution)
    pattern = TradePattern(
        assets=program.assets,
        current=_current(program),
        direction=direction,
        minimum=float(limits.min_trade_size),
    )
    notes = dict(program.count_notes)
    size = percent(limits.min_trade_size)
    stopped = np.flatnonzero((direction == 0) & too_small(program, solution.weights))
    for position in stopped:
        notes[program.assets[position]] = f"its best trade is smaller than {size}"
    how = note or "trade directions chosen by SCIP"
    names = listing(program.assets[k] for k in stopped) if len(stopped) else "none"
    summary = f"min_trade_size {size}: {how}; left untraded: {names}"
    return dataclasses.replace(program, rules=[*program.rules, pattern], count_notes=notes), summary


def _current(program: Program) -> np.ndarray:
    current = program.universe.current_weight
    if current is None:
        return np.zeros(len(program.members))
    return np.asarray(current[program.members], dtype=float)


def _directions(program: Program, solution: Solution) -> tuple[np.ndarray, str]:
    """+1 buy, −1 sell, 0 no trade per member: SCIP's choice, else rounding (with a note)."""
    problem, buy, sell = _model(program, solution)
    limits = program.limits
    result, failure = run_scip(
        problem, limits.mip_time_limit, limits.mip_gap, (buy.name(), sell.name())
    )
    if result is not None and result["status"] in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleError(
            f"no portfolio trades at least min_trade_size = {limits.min_trade_size:g} (or "
            "nothing) in every asset while meeting the other limits; lower min_trade_size",
            conflicts=["min_trade_size"],
        )
    if result is not None and result["values"][buy.name()] is not None:
        bought, sold = result["values"][buy.name()], result["values"][sell.name()]
        return (bought > 0.5).astype(int) - (sold > 0.5).astype(int), ""
    change = solution.weights - _current(program)
    minimum = float(limits.min_trade_size or 0.0)
    direction = np.where(np.abs(change) >= minimum / 2, np.sign(change), 0).astype(int)
    why = failure or "SCIP found no pattern in time"
    return direction, f"trade directions rounded from the convex answer ({why})"


def _model(program: Program, solution: Solution) -> tuple[cp.Problem, cp.Variable, cp.Variable]:
    ctx = ModelContext(len(program.members))
    for name, value in program.parameters().items():
        ctx.add_parameter(name, value)
    objective, auxiliary = program.require_objective().expression(ctx)
    current = _current(program)
    minimum = float(program.limits.min_trade_size or 0.0)
    buy = cp.Variable(ctx.size, boolean=True, name="buy")
    sell = cp.Variable(ctx.size, boolean=True, name="sell")
    bought = cp.Variable(ctx.size, nonneg=True)
    sold = cp.Variable(ctx.size, nonneg=True)
    room = np.maximum(program.limits.target_allocation - current, 0.0)
    rows = [
        ctx.weights - current == bought - sold,
        bought >= minimum * buy,
        bought <= cp.multiply(room, buy),
        sold >= cp.multiply(np.minimum(minimum, current), sell),
        sold <= cp.multiply(current, sell),
        buy + sell <= 1,
        ctx.cash >= 0,
    ]
    constraints = [block.build(ctx) for block in program.blocks]
    scale = objective_scale(solution)
    problem = cp.Problem(cp.Minimize(objective / scale), [*constraints, *auxiliary, *rows])
    return problem, buy, sell
