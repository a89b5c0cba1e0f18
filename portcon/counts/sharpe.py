"""max_sharpe under count limits: the support is searched by its Sharpe ratio.

max_sharpe is sized as mean-variance at γ*, but γ* depends on the support: the γ* of the
full program sizes a restricted support below its best Sharpe ratio. So each support is
valued by its own maximum-Sharpe portfolio (γ* recomputed for it, see
:func:`portcon.counts.heuristic.restricted`), and the support is searched by Dinkelbach's
method: starting from λ, the Sharpe ratio of the support the mean-variance program at γ*
chooses, SCIP solves

    max μᵀw − λ ‖(Gᵀw, d∘w)‖  over portfolios investing the target under every limit and
    count rule.

A positive maximum is a portfolio with Sharpe ratio above λ; its support is re-solved and λ
rises. A maximum of at most ε (SCIP's proven dual bound) proves that no portfolio meeting the
count rules has μᵀw > λσ(w) + ε. Then, with F the objective −μᵀw + (γ*/2)wᵀΣw of the chosen
portfolio (= −λ²/(2γ*)), every count-feasible portfolio investing the target has objective
≥ F − ε at that γ*: ``bound = F − ε``. Without the proof (time limit, SCIP failing) the bound
is −inf and a note says what holds: the weights are the exact maximum-Sharpe portfolio on the
chosen support, and the support is the best one visited.
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.counts.deadline import Deadline
from portcon.counts.formulation import TINY, model_constraints
from portcon.counts.heuristic import restricted, support_value
from portcon.counts.mip import run_scip, select
from portcon.counts.rules import Counts
from portcon.counts.selection import Selection
from portcon.errors import SolverError
from portcon.limits import MipMethod
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution, SolutionPath
from portcon.sizing.risk_objectives import MaxSharpe

FIRST_SHARE = 0.4  # of the budget, for the mean-variance choice of the starting support
ROUNDS = 12
RISE = 1e-9  # relative: a smaller rise of λ ends the search


def sharpest(
    program: Program, counts: Counts, relaxation: Solution, deadline: Deadline
) -> Selection:
    """The support with the highest Sharpe ratio (Dinkelbach over SCIP), and its bound."""
    first = select(program, counts, relaxation, Deadline(FIRST_SHARE * deadline.remaining()))
    held, value = first.held, support_value(program, first.held, counts)
    if value is None:
        raise SolverError("max_sharpe: the chosen support cannot invest the target", solver="")
    ratio, epsilon, failure = -value, None, ""
    scale = max(float(program.market.expected_returns @ relaxation.weights), TINY)
    use_scip = (
        program.limits.mip_method != MipMethod.HEURISTIC
        and first.path is SolutionPath.MIXED_INTEGER
    )
    path = first.path
    for _ in range(ROUNDS if use_scip else 0):
        if deadline.remaining() <= 0.05:
            failure = "the time limit was reached"
            break
        found, gap, failure = _improve(program, counts, ratio, scale, deadline)
        if found is None:
            epsilon = gap
            break
        trial = support_value(program, found, counts)
        if trial is None or -trial <= ratio * (1 + RISE) + TINY:
            failure = "a candidate support did not raise the Sharpe ratio (numerical limit)"
            break
        held, ratio = found, -trial
    return _finish(program, counts, first, held, ratio, epsilon, failure, path)


def _improve(
    program: Program, counts: Counts, ratio: float, scale: float, deadline: Deadline
) -> tuple[np.ndarray | None, float | None, str]:
    """(support with Sharpe above ``ratio``, None, "") or (None, ε proven, "") or
    (None, None, why nothing is proven)."""
    ctx = ModelContext(len(program.members))
    values = program.parameters()
    for name, value in values.items():
        ctx.add_parameter(name, value)
    held = cp.Variable(ctx.size, boolean=True, name="held")
    constraints, _ = model_constraints(program, counts, ctx, held)
    mu = program.market.expected_returns
    objective = (ratio * cp.norm(ctx.risk(), 2) - mu @ ctx.weights) / scale
    problem = cp.Problem(cp.Minimize(objective), [*constraints, ctx.cash == 0])
    gap = program.limits.mip_gap
    seconds = deadline.remaining() - 0.05
    result, failure = run_scip(problem, seconds, gap, ("held",), absolute_gap=gap)
    if result is None or result["values"]["held"] is None:
        return None, None, failure or f"SCIP found nothing ({result and result['scip_status']})"
    if result["value"] is not None and result["value"] < -gap:
        return result["values"]["held"] > 0.5, None, ""
    if result["scip_status"] != "optimal":
        return None, None, f"SCIP stopped ({result['scip_status']}) before proving it"
    primal, dual = result["primal_bound"], result["dual_bound"]
    lower = result["value"] - (primal - dual) if np.isfinite(dual) else -np.inf
    return None, max(0.0, -lower) * scale, ""


def _finish(
    program: Program,
    counts: Counts,
    first: Selection,
    held: np.ndarray,
    ratio: float,
    epsilon: float | None,
    failure: str,
    path: SolutionPath,
) -> Selection:
    chosen = restricted(program, held, counts)
    sizing = None if chosen is None else chosen.objective
    gamma = sizing.risk_aversion if isinstance(sizing, MaxSharpe) else np.nan
    objective = -(ratio**2) / (2 * gamma)
    if epsilon is not None:
        note = (
            f"max_sharpe: the support is proven Sharpe-optimal among all meeting the count "
            f"limits (no portfolio has expected return above {ratio:.6g} × its volatility "
            f"+ {epsilon:.2g}); weights are the maximum-Sharpe portfolio on it"
        )
        bound, status = objective - epsilon, "optimal"
    else:
        note = (
            f"max_sharpe: weights are the maximum-Sharpe portfolio on the chosen support "
            f"(Sharpe {ratio:.6g}), the best support visited; it is not proven best among all "
            f"supports ({failure or 'no mixed-integer search'})"
        )
        bound, status = -np.inf, first.status
    gap = (objective - bound) / max(abs(objective), TINY)
    return dataclasses.replace(
        first,
        held=held,
        path=path,
        gap=gap,
        bound=bound,
        status=status,
        objective=objective,
        notes=(*first.notes, note),
        overridden=None if not np.array_equal(held, first.held) else first.overridden,
    )
