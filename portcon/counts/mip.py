"""Meeting position-count limits: SCIP on a perspective-strengthened mixed-integer program.

The mixed-integer program adds a binary z_i ("held") per member:
ℓ_i z_i ≤ w_i ≤ u_i z_i with u_i the largest weight any single linear limit allows (never an
arbitrary big constant), each separable quadratic term w_i² in perspective form w_i²/z_i
with perspective cuts, and the count rules as linear constraints on z (and y_b, "bucket
represented", and o_i, "bucket override"). The objective is divided by a data-derived scale
(:func:`objective_scale`) so the model is the same in daily or annual units. SCIP runs in a
worker process (:mod:`portcon.counts.isolate`); :func:`select` falls back to the labelled
heuristic of :mod:`portcon.counts.heuristic` when it crashes, hangs or finds nothing.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from cvxpy.lin_ops import lin_utils

from portcon.constraints.base import ModelContext
from portcon.counts import isolate
from portcon.counts.deadline import Deadline
from portcon.counts.heuristic import heuristic, prefer_scores, support_value
from portcon.counts.rules import Counts, count_conflict, count_fields
from portcon.counts.selection import Selection
from portcon.errors import InfeasibleError, LimitsError, SolverError
from portcon.limits import MipMethod
from portcon.optimizer import time_budget
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution, SolutionPath

ANCHOR_POINTS = 6
MIP_LARGEST = 3000  # members; beyond this "auto" goes straight to the heuristic
SCIP_SHARE = 0.7  # of the count step's time budget; the rest is for the tie pass or fallback
GRACE_SECONDS = 2.0  # a worker silent this long past its share is killed
TINY = 1e-12
EASY_MEMBERS = 100  # up to this many members SCIP runs with its "easy CIP" emphasis
PROVEN = ("optimal", "gaplimit")  # SCIP statuses: the incumbent is within the requested gap


@dataclass(frozen=True)
class ScipModel:
    """The mixed-integer program in cvxpy, its objective divided by ``scale``."""

    problem: cp.Problem
    held: cp.Variable
    override: cp.Variable | None
    scale: float


def select(program: Program, counts: Counts, relaxation: Solution, deadline: Deadline) -> Selection:
    """Choose the held members: SCIP (in a worker process), else the labelled heuristic.

    The heuristic runs when ``mip_method = "heuristic"``, beyond 3000 members with ``auto``,
    when SCIP is missing, crashes, or finds nothing within its share of the time; when SCIP
    stops early it also runs, and the better support is kept. Everything stops by
    ``deadline``. The gap and bound are recomputed on the chosen support (see
    :func:`with_gap`).

    Raises
    ------
    InfeasibleError
        When SCIP proves no portfolio meets the count rules with the other limits.
    SolverError
        When ``mip_method`` is ``exact`` and SCIP does not answer, or the heuristic finds no
        feasible support and infeasibility is not proven.
    """
    method = program.limits.mip_method
    notes: list[str] = []
    answer = None
    if len(program.members) > MIP_LARGEST and method == MipMethod.AUTO:
        notes.append(
            f"{len(program.members)} candidates (more than {MIP_LARGEST}): the heuristic chose "
            "the support"
        )
    elif method != MipMethod.HEURISTIC:
        answer, failure = solve_scip(program, counts, relaxation, deadline)
        if answer is None and method == MipMethod.EXACT:
            time_budget.check("SCIP had chosen the held names")
            raise SolverError(
                f"{failure}; raise mip_time_limit or set mip_method = 'auto' to allow the "
                "heuristic",
                solver="SCIP",
            )
        if answer is None:
            notes.append(f"{failure}; the labelled heuristic chose the support instead")
    if answer is None:
        selection = heuristic(program, counts, relaxation, deadline)
    else:
        selection = _improved(program, counts, relaxation, deadline, answer, method)
    selection = prefer_scores(program, counts, selection, deadline)
    selection = dataclasses.replace(selection, notes=(*notes, *selection.notes))
    return with_gap(selection, relaxation)


def _improved(
    program: Program,
    counts: Counts,
    relaxation: Solution,
    deadline: Deadline,
    answer: Selection,
    method: MipMethod,
) -> Selection:
    """SCIP's answer, or the heuristic's support when SCIP stopped early and it is better.

    SCIP stopping at the requested gap (``gaplimit``) has done what was asked: its incumbent
    is within ``mip_gap`` of the optimum, so the heuristic is not run.
    """
    if answer.status in PROVEN or method == MipMethod.EXACT:
        return answer
    value = support_value(program, answer.held, counts)
    answer = dataclasses.replace(answer, objective=value)
    try:
        other = heuristic(program, counts, relaxation, deadline)
    except (SolverError, InfeasibleError):
        return answer
    stopped = f"SCIP stopped ({answer.status}) with gap {answer.gap:.3g}"
    if other.objective is not None and (value is None or other.objective < value):
        return dataclasses.replace(
            other,
            bound=max(answer.bound, other.bound),
            notes=(f"{stopped}; the heuristic found a better support, which is used",),
        )
    return dataclasses.replace(answer, notes=(f"{stopped}; its incumbent is used",))


def with_gap(selection: Selection, relaxation: Solution) -> Selection:
    """Gap and bound against the objective of the chosen support.

    The bound is the higher of SCIP's dual bound and the convex relaxation's objective (both
    proven lower bounds); gap = (objective − bound) / max(|objective|, 1e-12) ≥ 0.
    """
    objective = selection.objective
    bound = max(selection.bound, relaxation.objective)
    if objective is None:
        return dataclasses.replace(selection, bound=bound, gap=float("inf"))
    bound = min(bound, objective)  # SCIP's bound may overshoot by its tolerance
    gap = (objective - bound) / max(abs(objective), TINY)
    return dataclasses.replace(selection, bound=bound, gap=gap)


def anchors(counts: Counts, relaxation: Solution, points: int = ANCHOR_POINTS) -> np.ndarray:
    """Tangent points per member: a grid from its floor to its cap, and its relaxed weight."""
    low = np.maximum(counts.lower, 1e-4)
    high = np.maximum(counts.upper, low)
    grid = low[:, None] + (high - low)[:, None] * np.linspace(0.0, 1.0, points)[None, :]
    return np.column_stack([grid, np.clip(relaxation.weights, low, high)])


def objective_scale(relaxation: Solution) -> float:
    """A data-derived unit for the objective: |relaxed objective| (1e-12 at least).

    Dividing by it makes the mixed-integer program the same whatever the units of μ and Σ
    (daily or annual), so SCIP's absolute tolerances act alike on both.
    """
    return max(abs(float(relaxation.objective)), TINY)


def build_model(program: Program, counts: Counts, relaxation: Solution) -> ScipModel:
    """The perspective-strengthened mixed-integer program, objective divided by its scale."""
    limits = program.limits
    ctx = ModelContext(len(program.members))
    values = program.parameters()
    for name, value in values.items():
        ctx.add_parameter(name, value)
    held = cp.Variable(ctx.size, boolean=True, name="held")
    perspective = program.require_objective().perspective(ctx, held, anchors(counts, relaxation))
    if perspective is None:
        raise LimitsError(
            f"position-count limits are not available with sizing_mode '{limits.sizing_mode}' "
            "yet; use a proportional, tiered (cash or proportional residual), min_variance, "
            "mean_variance, max_sharpe or kelly mode"
        )
    objective, cones = perspective
    constraints, override = model_constraints(program, counts, ctx, held)
    scale = objective_scale(relaxation)
    problem = cp.Problem(cp.Minimize(objective / scale), [*constraints, *cones])
    return ScipModel(problem, held, override, scale)


def model_constraints(
    program: Program,
    counts: Counts,
    ctx: ModelContext,
    held: cp.Variable,
) -> tuple[list, cp.Variable | None]:
    """The program's rows, cash ≥ 0, overrides and the count rules on the binaries.

    A bucket override o_i (only for members scoring at or above bucket_override_threshold,
    o_i ≤ z_i, Σ o ≤ max_bucket_overrides) lets its bucket hold one name past its position
    count; every bucket cap row stays as it is (the seed: the name still counts towards its
    bucket's allocation).
    """
    limits = program.limits
    constraints = [block.build(ctx) for block in program.blocks]
    constraints.append(ctx.cash >= 0)
    override = None
    if counts.overrides_possible and counts.overridable is not None:
        override = cp.Variable(ctx.size, boolean=True, name="override")
        constraints += [override <= held, cp.sum(override) <= limits.max_bucket_overrides]
        blocked = np.flatnonzero(~counts.overridable)
        if len(blocked):
            constraints.append(override[blocked] == 0)
    constraints += count_constraints(ctx.weights, held, counts, override)
    return constraints, override


def run_scip(
    problem: cp.Problem,
    seconds: float,
    gap: float,
    wanted: tuple[str, ...],
    absolute_gap: float | None = None,
    emphasis: str | None = None,
) -> tuple[dict | None, str]:
    """Solve ``problem`` with SCIP in a worker process within ``seconds``; (result, failure).

    ``emphasis`` names one of SCIP's emphasis settings (``"EASYCIP"``, ...), applied before
    the parameters; it changes how SCIP searches, never what it proves.
    """
    params = {"limits/gap": gap}
    if absolute_gap is not None:
        params["limits/absgap"] = absolute_gap
    job = {
        "problem": problem,
        "id_floor": lin_utils.ID_COUNTER.count,
        "seconds": max(seconds, 0.05),
        "params": params,
        "wanted": wanted,
        "emphasis": emphasis,
    }
    outcome = isolate.run(job, time_budget.cap(seconds + GRACE_SECONDS))
    return outcome.result, outcome.failure


def solve_scip(
    program: Program, counts: Counts, relaxation: Solution, deadline: Deadline
) -> tuple[Selection | None, str]:
    """SCIP's support within its share of ``deadline``, or (None, why not).

    Raises
    ------
    InfeasibleError
        When SCIP proves the count rules infeasible with the other limits.
    """
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        return None, "SCIP (pyscipopt) is not installed"
    model = build_model(program, counts, relaxation)
    exact = program.limits.mip_method == MipMethod.EXACT
    seconds = deadline.share(0.95 if exact else SCIP_SHARE) - time.perf_counter()
    emphasis = "EASYCIP" if len(program.members) <= EASY_MEMBERS else None
    result, failure = run_scip(
        model.problem, seconds, program.limits.mip_gap, ("held", "override"), emphasis=emphasis
    )
    if result is None:
        return None, failure
    if result["status"] in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleError(count_conflict(program, counts), conflicts=count_fields(counts))
    held = result["values"]["held"]
    if held is None:
        return None, f"SCIP found no portfolio within {seconds:.1f} s ({result['scip_status']})"
    override = result["values"]["override"]
    return Selection(
        held=held > 0.5,
        path=SolutionPath.MIXED_INTEGER,
        gap=result["gap"],
        bound=model.scale * dual_bound(result),
        status=result["scip_status"],
        overridden=None if override is None else override > 0.5,
    ), ""


def dual_bound(result: dict) -> float:
    """SCIP's dual bound in the cvxpy objective's units (−inf when SCIP has none)."""
    primal, dual, value = result["primal_bound"], result["dual_bound"], result["value"]
    if value is None or not all(np.isfinite([primal, dual])) or abs(dual) >= 1e19:
        return -np.inf
    return value - (primal - dual)


def count_constraints(
    weights: cp.Expression,
    held: cp.Expression,
    counts: Counts,
    override: cp.Expression | None = None,
) -> list:
    """The count rules on the binaries, with ℓ z ≤ w ≤ u z linking them to the weights.

    Each override (``override``) lets its bucket hold one name past its position count.
    """
    limits = counts.limits
    lower = cp.multiply(counts.lower, held)
    if counts.short is not None:  # a held member may be short down to −s (lower is 0 then)
        lower = lower - cp.multiply(counts.short, held)
    rules = [weights <= cp.multiply(counts.upper, held), weights >= lower]
    if limits.max_total_positions is not None:
        rules.append(cp.sum(held) <= limits.max_total_positions)
    if limits.max_new_positions is not None and counts.new.any():
        rules.append(cp.sum(held[np.flatnonzero(counts.new)]) <= limits.max_new_positions)
    if counts.buckets is not None:
        counted = counts.new if limits.allow_bucket_overflow else np.ones(len(counts.new), bool)
        for bucket, limit in counts.bucket_limits.items():
            inside = np.flatnonzero((counts.buckets == bucket) & counted)
            if len(inside):
                exempt = 0 if override is None else cp.sum(override[inside])
                rules.append(cp.sum(held[inside]) - exempt <= limit)
            if override is not None and len(inside):
                rules += _overflow_rows(held, override, inside, counts)
        if limits.min_buckets_represented is not None:
            labels = list(dict.fromkeys(counts.buckets))
            represented = cp.Variable(len(labels), boolean=True, name="represented")
            for k, bucket in enumerate(labels):
                inside = np.flatnonzero(counts.buckets == bucket)
                rules.append(represented[k] * counts.represented <= cp.sum(weights[inside]))
                rules.append(represented[k] <= cp.sum(held[inside]))
            rules.append(cp.sum(represented) >= limits.min_buckets_represented)
    for i, j, _ in counts.pairs:
        rules.append(held[i] + held[j] <= 1)
    if counts.priority is not None and counts.keep:
        rules.append(cp.sum(held[np.flatnonzero(counts.priority)]) >= counts.keep)
    return rules


def _overflow_rows(
    held: cp.Expression, override: cp.Expression, inside: np.ndarray, counts: Counts
) -> list:
    """A bucket using an override holds only names that may override (the seed fills slots by
    score, so the names past the count are its lowest): Σ_{j plain} z_j + |P| o_i ≤ |P|."""
    if counts.overridable is None:
        return []
    plain = inside[~counts.overridable[inside]]
    eligible = inside[counts.overridable[inside]]
    if not len(plain) or not len(eligible):
        return []
    size = len(plain)
    return [cp.sum(held[plain]) + size * override[eligible] <= size]
