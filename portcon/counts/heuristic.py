"""The labelled heuristic for count limits, and the tie rule shared with SCIP's answers.

Floor-aware greedy by relaxed weight (score breaks ties), then one-for-one swaps; supports are
valued by solving them as convex programs. Every loop checks the count step's deadline. The
heuristic never declares a problem infeasible on its own: when it finds no feasible support it
raises :class:`SolverError` unless a simple argument proves infeasibility.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import NoReturn

import numpy as np

from portcon.constraints.base import RowBlock, Sense
from portcon.counts.deadline import Deadline
from portcon.counts.greedy import ROOM, floor_rows, greedy
from portcon.counts.rules import Counts, violated
from portcon.counts.selection import Selection
from portcon.counts.support import with_support
from portcon.counts.trial import trial_program
from portcon.errors import InfeasibleError, LimitsError, SolverError
from portcon.market import MarketData
from portcon.optimizer.model import build
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution, SolutionPath
from portcon.optimizer.solve import solve, solve_program
from portcon.sizing.modes import Sizing
from portcon.sizing.risk_objectives import MaxSharpe

HEURISTIC_CANDIDATES = 12
REPAIRS = 8  # shorter greedy supports tried when the first one has no feasible weights
TIE = 1e-9  # relative: a swap that does not worsen the objective by more is a tie


def prefer_scores(
    program: Program, counts: Counts, selection: Selection, deadline: Deadline
) -> Selection:
    """Among supports of equal value, hold the higher scores; fills ``selection.objective``.

    Swaps the lowest-scoring held member for the highest-scoring one left out while the
    objective does not get worse (to 1e-9 relative): with equal weights and K positions this
    walks to the K best scores. Stops at ``deadline``.
    """
    held = selection.held.copy()
    value = selection.objective
    if value is None:
        value = support_value(program, held, counts)
    if value is None:
        return dataclasses.replace(selection, objective=value)
    scores = program.universe.score[program.members]
    by_score = np.argsort(-scores, kind="stable")
    budget, trials, swapped = 2 * int(held.sum()) + 2, 0, True
    while swapped and trials < budget and not deadline.passed():
        swapped = False
        for drop in sorted(np.flatnonzero(held), key=lambda i: scores[i]):
            if deadline.passed() or trials >= budget:
                break
            add = next(
                (
                    j
                    for j in by_score
                    if not held[j]
                    and scores[j] > scores[drop]
                    and admissible(program, _swap(held, drop, j), counts)
                ),
                None,
            )
            if add is None:
                continue
            trials += 1
            trial_value = support_value(program, _swap(held, drop, add), counts)
            if trial_value is not None and trial_value <= value + TIE * max(1.0, abs(value)):
                held, value, swapped = _swap(held, drop, add), min(value, trial_value), True
                break
    return dataclasses.replace(selection, held=held, objective=value)


def _swap(held: np.ndarray, drop: int | np.integer, add: int | np.integer) -> np.ndarray:
    trial = held.copy()
    trial[drop], trial[add] = False, True
    return trial


def heuristic(
    program: Program, counts: Counts, relaxation: Solution, deadline: Deadline
) -> Selection:
    """Floor-aware greedy by relaxation weight (score breaks ties), then one-for-one swaps.

    The bound is the convex relaxation's objective, a valid lower bound.

    Raises
    ------
    InfeasibleError
        When a simple count argument proves no support is feasible.
    SolverError
        When no feasible support was found and infeasibility is not proven.
    """
    first = (
        np.zeros(len(program.members))
        if counts.priority is None
        else -counts.priority.astype(float)  # held names that qualify go first
    )
    first -= 2.0 * required_members(program)  # a hard floor or pin above 0 must be held
    size = np.abs(relaxation.weights)  # a short is held as much as a long of its size
    order = np.lexsort((-program.universe.score[program.members], -size, first))
    held, best = _first_support(program, counts, order, deadline)
    if best is None:
        _raise_unless_proven(program, counts)
    notes = []
    improved = True
    while improved and not deadline.passed():
        improved = False
        outside = [i for i in order if not held[i]][:HEURISTIC_CANDIDATES]
        inside = sorted(np.flatnonzero(held), key=lambda i: size[i])
        for drop in inside:
            for add in outside:
                if deadline.passed():
                    break
                trial = _swap(held, drop, add)
                if not admissible(program, trial, counts):
                    continue
                value = support_value(program, trial, counts)
                if value is not None and value < best - TIE * max(1.0, abs(best)):
                    held, best, improved = trial, value, True
                    break
            if improved or deadline.passed():
                break
    if deadline.passed():
        notes.append(
            f"the heuristic's swap search stopped at the count step's time limit "
            f"({deadline.seconds:g} s)"
        )
    return Selection(
        held=held,
        path=SolutionPath.HEURISTIC,
        gap=float("nan"),
        bound=relaxation.objective,
        status="heuristic",
        notes=tuple(notes),
        objective=best,
    )


def required_members(program: Program) -> np.ndarray:
    """Per member: held by a per-asset ``>=`` or ``==`` row with a positive bound (a hard
    floor, a pin), so every feasible support contains it."""
    required = np.zeros(len(program.members), dtype=bool)
    values = program.parameters()
    for block in program.blocks:
        if not isinstance(block, RowBlock) or block.sense == Sense.LE:
            continue
        selected = block.selected_assets()
        if selected is not None:
            required[selected[block.bound_values(values) > 0]] = True
    return required


def _first_support(
    program: Program, counts: Counts, order: np.ndarray, deadline: Deadline
) -> tuple[np.ndarray, float | None]:
    """The greedy support, shortened from its weakest end while it has no feasible weights."""
    held = greedy(program, counts, order, deadline)
    value = support_value(program, held, counts)
    ranked = [i for i in order if held[i]]
    for size in np.unique(np.linspace(len(ranked), 1, REPAIRS + 1).astype(int))[::-1][1:]:
        if value is not None or deadline.passed():
            break
        trial = np.zeros_like(held)
        trial[ranked[:size]] = True
        if admissible(program, trial, counts):
            held, value = trial, support_value(program, trial, counts)
    return held, value


def _raise_unless_proven(program: Program, counts: Counts) -> NoReturn:
    from portcon.counts.diagnose import capacity_proof

    proof = capacity_proof(program, counts)
    if proof is not None:
        raise InfeasibleError(proof, conflicts=[])
    raise SolverError(
        "the count heuristic found no support with feasible weights within the time limit, and "
        "infeasibility is not proven; raise mip_time_limit or use mip_method = 'exact'",
        solver="heuristic",
    )


def admissible(program: Program, held: np.ndarray, counts: Counts, complete: bool = True) -> bool:
    """The count rules that depend on the support alone, and floors within every cap row
    (a partial support may still lack buckets or held names: ``complete=False`` skips
    min_buckets_represented and prefer_held)."""
    weights = np.where(held, np.maximum(counts.lower, counts.represented), 0.0)
    broken = set(violated(weights, counts)) - {"min_position_size"}
    if not complete:
        broken -= {"min_buckets_represented", "prefer_held"}
    if broken:
        return False
    matrix, bounds = _rows(program)
    return bool(np.all(matrix @ np.where(held, counts.lower, 0.0) <= bounds + ROOM))


_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _rows(program: Program) -> tuple:
    if program not in _ROWS:
        _ROWS[program] = floor_rows(program)
    return _ROWS[program]


def support_value(program: Program, held: np.ndarray, counts: Counts) -> float | None:
    """How good support ``held`` is, lower better: its convex objective, or minus its Sharpe
    ratio under max_sharpe (whose objective depends on the support through γ*). None when
    the support has no feasible weights.

    When the sizing mode does not re-derive its objective per support, the support is stated
    in the fixed shape of :mod:`portcon.counts.trial` and solved on a pooled model (compiled
    once per program, re-bound per trial).
    """
    if type(program.sizing).refine is Sizing.refine:
        try:
            return solve_program(trial_program(program, held, counts)).objective
        except (InfeasibleError, SolverError):
            return None
    fixed = restricted(program, held, counts)
    if fixed is None:
        return None
    try:
        solution = solve(fixed, build(fixed))
    except (InfeasibleError, SolverError):
        return None
    if isinstance(fixed.objective, MaxSharpe):
        return -sharpe_ratio(fixed.market, solution.weights)
    return solution.objective


def sharpe_ratio(market: MarketData, weights: np.ndarray) -> float:
    """μᵀw / √(wᵀΣw) under the factor risk model."""
    exposures, specific = market.require_risk()
    factor = exposures.T @ weights
    variance = float(factor @ factor + np.sum((specific * weights) ** 2))
    return float(market.require_expected_returns() @ weights) / np.sqrt(max(variance, 1e-300))


def restricted(
    program: Program,
    held: np.ndarray,
    counts: Counts,
    reasons: dict[int, tuple[str, str]] | None = None,
    overridden: np.ndarray | None = None,
) -> Program | None:
    """``program`` on support ``held``; max_sharpe re-derives γ* for it (None: no γ*)."""
    fixed = with_support(program, held, reasons or {}, counts, overridden)
    try:
        objective = fixed.sizing.refine(fixed.require_objective(), fixed.rules, fixed.market)
    except (LimitsError, SolverError):
        return None
    return dataclasses.replace(fixed, objective=objective)
