"""Model → :class:`Solution`: solve with a fallback chain, tidy round-off, record timings."""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from cvxpy.constraints.nonpos import Inequality

from portcon.constraints.base import Block, RowBlock, Sense, TurnoverBlock, multipliers
from portcon.errors import InfeasibleError, SolverError
from portcon.optimizer import clarabel_direct, dpp_data, lean_clarabel, time_budget
from portcon.optimizer.model import Model, checkout
from portcon.optimizer.polish import polish
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.optimizer.zero_kinks import snap_to_zero
from portcon.sizing.costs import WithTradingCosts

ZERO_WEIGHT = 1e-10
LARGEST_REPAIR = 1e-6
UNRESOLVED = 1e-8
SNAP = 1e-9


def _polished(problem: cp.Problem) -> bool:
    """OSQP's answer is exact only when its active-set polish succeeded."""
    info = getattr(problem.solver_stats.extra_stats, "info", None)
    return getattr(info, "status_polish", 0) == 1


def _complementary(problem: cp.Problem) -> bool:
    """True when every inequality row is clearly active or clearly slack.

    An interior-point answer is accurate to the solver tolerance where strict complementarity
    holds (slack or multiplier ≈ 0); at a degenerate row both are about √tolerance, and the
    weights are only that accurate.
    """
    for constraint in problem.constraints:
        if not isinstance(constraint, Inequality):
            continue
        dual = np.asarray(constraint.dual_value, dtype=float)
        if not np.any(dual > UNRESOLVED):
            continue  # no row can pass the test below: its slack need not be evaluated
        slack = -np.asarray(constraint.expr.value, dtype=float)
        if np.any(np.minimum(slack, dual) > UNRESOLVED):
            return False
    return True


def _always(problem: cp.Problem) -> bool:
    return True


@dataclass(frozen=True)
class Attempt:
    """One solver of the chain, its options, and when its optimal answer is accepted."""

    solver: str
    options: dict[str, object]
    accept: Callable[[cp.Problem], bool] = _always
    rescue: bool = False  # an optimal answer refused by `accept` may still be polished


CLARABEL_OPTIONS: dict[str, object] = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
}
# Clarabel first (fast, accurate duals). At a degenerate optimum (say a raw size exactly at its
# cap) it is only ~√tolerance accurate: portcon's own active-set polish then tries to make it
# exact, and failing that OSQP runs, whose polish solves the KKT system of its active set.
# Failing both, any optimal answer is taken (the independent limit check still guards it),
# then ECOS and SCS.
CLARABEL_STRICT = Attempt("CLARABEL", CLARABEL_OPTIONS, _complementary, rescue=True)
OSQP_POLISHED = Attempt(
    "OSQP", {"eps_abs": 1e-6, "eps_rel": 1e-6, "polishing": True, "max_iter": 100_000}, _polished
)
FALLBACKS = (
    Attempt("CLARABEL", CLARABEL_OPTIONS),
    Attempt("ECOS", {"abstol": 1e-9, "reltol": 1e-9, "feastol": 1e-9}),
    Attempt("SCS", {"eps_abs": 1e-9, "eps_rel": 1e-9}),
)
SOLVER_CHAIN: tuple[Attempt, ...] = (CLARABEL_STRICT, OSQP_POLISHED, *FALLBACKS)
# A linear program (min_cvar's Rockafellar–Uryasev rows under linear limits) goes to HiGHS
# first: its interior point with crossover ends on a vertex, so complementarity is exact and
# the duals are those of the optimal basis. At N = 500, T = 1,000 it is ~2x faster than
# Clarabel (benchmarks/bench_tail.py). Any other program never sees it; should HiGHS fail,
# the usual chain runs.
HIGHS_LP = Attempt("HIGHS", {"highs_options": {"solver": "ipm", "run_crossover": "on"}})


def solver_chain(problem: cp.Problem) -> tuple[Attempt, ...]:
    """The attempts for ``problem``: HiGHS first for a linear program (when installed)."""
    if _highs_installed() and problem.is_lp():
        return (HIGHS_LP, *SOLVER_CHAIN)
    return SOLVER_CHAIN


@functools.cache
def _highs_installed() -> bool:
    return "HIGHS" in cp.installed_solvers()


def solve_program(program: Program) -> Solution:
    """Solve ``program`` on a pooled model (built once per structure, safe across threads).

    Raises
    ------
    InfeasibleError, SolverError
        As :func:`solve`.
    """
    time_budget.check("the program was built")
    started = time.perf_counter()
    with checkout(program) as model:
        built = time.perf_counter() - started
        solution = solve(program, model)
    return dataclasses.replace(solution, timings={**solution.timings, "build": built})


def solve(program: Program, model: Model) -> Solution:
    """Solve the model with the first solver of the chain that reports an optimum.

    Raises
    ------
    InfeasibleError
        When a solver reports the limits infeasible and none finds an optimum.
    SolverError
        When every solver of the chain fails or reports a non-optimal status.
    """
    tried: list[str] = []
    status = "not solved"
    infeasible = False
    chain_started = time.perf_counter()
    for attempt in solver_chain(model.problem):
        time_budget.check(f"{attempt.solver} could solve")
        tried.append(attempt.solver)
        problem = model.for_solver(attempt.solver)
        try:
            with warnings.catch_warnings():
                # an inaccurate status is handled by the chain, not shown to the user
                warnings.simplefilter("ignore", UserWarning)
                _solve_with(problem, attempt, model.dpp)
        except (cp.error.SolverError, cp.error.DCPError, ValueError, ArithmeticError):
            status = "solver error"
            continue
        if model.dpp:
            dpp_data.install(problem)  # the next solves build the same data faster
        elapsed = time.perf_counter() - chain_started
        status = problem.status
        if status == cp.INFEASIBLE and attempt.solver == "CLARABEL":
            infeasible = True  # Clarabel returns a certificate: no other solver can do better
            break
        infeasible = infeasible or status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
        if status == cp.OPTIMAL and attempt.accept(problem):
            return _solution(program, model, problem, attempt.solver, tuple(tried), elapsed)
        if status == cp.OPTIMAL and attempt.rescue:
            tentative = _solution(program, model, problem, attempt.solver, tuple(tried), elapsed)
            polished = polish(program, tentative, complementary=False)
            if polished is not tentative:
                return dataclasses.replace(polished, solver=f"{attempt.solver}+polish")
        if status == cp.OPTIMAL:
            status = "optimal, not accurate enough"
    if infeasible:
        fields = sorted({block.rule for block in program.blocks} - {"long_only"})
        raise InfeasibleError(
            f"no portfolio satisfies every limit at once ({', '.join(dict.fromkeys(tried))} "
            f"agree); the limits in play are {', '.join(fields)}",
            conflicts=fields,
        )
    raise SolverError(
        f"no solver reached an optimum (last status: {status}); tried {', '.join(tried)}",
        status=status,
        solver=tried[-1],
        tried=tried,
    )


def _solve_with(problem: cp.Problem, attempt: Attempt, dpp: bool) -> None:
    """``problem.solve`` by ``attempt``; a pooled model already compiled for Clarabel is
    solved by :mod:`clarabel_direct` (the same bits, less time reading the data in).

    A pooled model is compiled for Clarabel through :mod:`lean_clarabel`: the same problem
    data, without the workspace cvxpy's reordering of second-order-cone rows takes
    (volatility and tracking-error caps at large N)."""
    options = {**attempt.options, **time_budget.solver_options(attempt.solver)}
    solver: str | lean_clarabel.LeanClarabel = attempt.solver
    if dpp and attempt.solver == clarabel_direct.CLARABEL:
        if clarabel_direct.applies(problem):
            clarabel_direct.solve(problem, options)
            return
        solver = lean_clarabel.SOLVER
    problem.solve(
        solver=solver,
        ignore_dpp=not dpp,
        warm_start=False,  # the same input gives the same answer, whatever came before
        **options,
    )


def _solution(
    program: Program,
    model: Model,
    problem: cp.Problem,
    solver: str,
    tried: tuple[str, ...],
    elapsed: float,
) -> Solution:
    blocks = program.blocks
    bounds = {
        name: np.asarray(parameter.value, dtype=float)
        for name, parameter in model.context.parameters.items()
    }
    raw = np.asarray(model.context.weights.value, dtype=float)
    weights = tidy(snap_to_zero(program, snap_to_current(program, raw)), blocks, bounds)
    cash = max(0.0, float(program.limits.target_allocation - weights.sum()))
    stats = problem.solver_stats
    return Solution(
        weights=weights,
        cash=cash,
        objective=program.require_objective().value(weights, cash),
        blocks=blocks,
        multipliers=[multipliers(block, model.constraints[block.label]) for block in blocks],
        bounds=bounds,
        auxiliary_duals=[np.asarray(c.dual_value, dtype=float) for c in model.auxiliary],
        status=str(problem.status),
        solver=solver,
        tried=tried,
        timings={"solve": elapsed, "solver": float(stats.solve_time or 0.0)},
    )


def snap_to_current(program: Program, weights: np.ndarray) -> np.ndarray:
    """Weights within 1e-6 of their current one set to it, where the program has a kink there.

    Linear trading costs and the turnover cap make "do not trade" an exact answer, which an
    interior-point solver only approaches (to ~1e-6 when the budget's price is not unique).
    Rows that round-off then overshoots are repaired by :func:`tidy`, and the independent
    check still guards the result.
    """
    anchors = [block.current for block in program.blocks if isinstance(block, TurnoverBlock)]
    objective = program.objective
    if isinstance(objective, WithTradingCosts):
        anchors.append(np.where(objective.rate > 0, objective.current, np.nan))
    snapped = weights.copy()
    for current in anchors:
        near = np.abs(snapped - current) <= LARGEST_REPAIR
        snapped[near] = current[near]
    return snapped


def tidy(weights: np.ndarray, blocks: list[Block], bounds: dict[str, np.ndarray]) -> np.ndarray:
    """Remove interior-point round-off so every limit holds exactly.

    Weights below 1e-10 become 0; weights within 1e-9 of a per-asset bound are set to it and
    those beyond it by round-off are clipped; a group or budget row that
    overshoots its bound by round-off has its members scaled down. A repair larger than 1e-6
    is not made: the independent check then reports the violation.
    """
    weights = np.where(np.abs(weights) < ZERO_WEIGHT, 0.0, weights)
    for block in blocks:
        if not isinstance(block, RowBlock):
            continue  # nonlinear rows: left to the solver's accuracy and the checker
        bound = block.bound_values(bounds)
        selected = block.selected_assets()
        if selected is not None and block.sense != Sense.EQ:
            current = weights[selected]
            near = np.abs(current - bound) <= SNAP
            beyond = (current > bound) if block.sense == Sense.LE else (current < bound)
            repairable = near | (beyond & (np.abs(current - bound) <= LARGEST_REPAIR))
            weights[selected] = np.where(repairable, bound, current)
            continue
        if block.sense == Sense.GE:
            continue
        for row in range(block.rows):
            members = block.row_members(row)
            total = float(weights[members].sum())
            # a proportional shrink repairs a positive bound only (a long-short row's may be ≤ 0)
            if bound[row] < total <= bound[row] + LARGEST_REPAIR and bound[row] > 0:
                weights[members] *= bound[row] / total
    return weights
