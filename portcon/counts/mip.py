"""Meeting position-count limits: SCIP on a perspective-strengthened mixed-integer program.

The mixed-integer program adds a binary z_i ("held") per member:
ℓ_i z_i ≤ w_i ≤ u_i z_i with u_i the largest weight any single linear limit allows (never an
arbitrary big constant), each separable quadratic term w_i² in perspective form w_i²/z_i
with perspective cuts, and the count rules as linear constraints on z (and y_b, "bucket
represented", and o_i, "bucket override"). :func:`select` falls back to the labelled
heuristic of :mod:`portcon.counts.heuristic`.
"""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.counts.heuristic import heuristic, prefer_scores
from portcon.counts.rules import BUCKET_CAP_RULES, Counts, count_conflict, count_fields
from portcon.counts.selection import Selection
from portcon.errors import InfeasibleError, LimitsError, SolverError
from portcon.limits import MipMethod
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution

ANCHOR_POINTS = 6
MIP_LARGEST = 3000  # members; beyond this "auto" goes straight to the heuristic


def select(program: Program, counts: Counts, relaxation: Solution) -> Selection:
    """Choose the held members: SCIP, else (or when asked, or beyond 3000 members with
    ``mip_method = "auto"``) the heuristic.

    Raises
    ------
    InfeasibleError
        When SCIP proves no portfolio meets the count rules with the other limits.
    SolverError
        When ``mip_method`` is ``exact`` and SCIP is missing or finds nothing in time.
    """
    method = program.limits.mip_method
    too_big = len(program.members) > MIP_LARGEST and method == MipMethod.AUTO
    if method != MipMethod.HEURISTIC and not too_big:
        outcome = _scip(program, counts, relaxation)
        if outcome is not None:
            return prefer_scores(program, counts, outcome)
        if method == MipMethod.EXACT:
            raise SolverError(
                "SCIP found no portfolio meeting the count rules within mip_time_limit; raise "
                "mip_time_limit or set mip_method = 'auto' to allow the heuristic",
                solver="SCIP",
            )
    return prefer_scores(program, counts, heuristic(program, counts, relaxation))


def anchors(counts: Counts, relaxation: Solution, points: int = ANCHOR_POINTS) -> np.ndarray:
    """Tangent points per member: a grid from its floor to its cap, and its relaxed weight."""
    low = np.maximum(counts.lower, 1e-4)
    high = np.maximum(counts.upper, low)
    grid = low[:, None] + (high - low)[:, None] * np.linspace(0.0, 1.0, points)[None, :]
    return np.column_stack([grid, np.clip(relaxation.weights, low, high)])


def _scip(program: Program, counts: Counts, relaxation: Solution) -> Selection | None:
    limits = program.limits
    ctx = ModelContext(len(program.members))
    values = program.parameters()
    for name, value in values.items():
        ctx.add_parameter(name, value)
    held = cp.Variable(ctx.size, boolean=True, name="held")
    perspective = program.objective.perspective(ctx, held, anchors(counts, relaxation))
    if perspective is None:
        raise LimitsError(
            f"position-count limits are not available with sizing_mode '{limits.sizing_mode}' "
            "yet; use a proportional, tiered (cash or proportional residual), min_variance, "
            "mean_variance, max_sharpe or kelly mode"
        )
    objective, cones = perspective
    overrides = counts.overrides_possible
    bucket_blocks = [b for b in program.blocks if overrides and b.rule in BUCKET_CAP_RULES]
    constraints = [block.build(ctx) for block in program.blocks if block not in bucket_blocks]
    constraints += [*cones, ctx.cash >= 0]
    override = None
    if overrides:
        override = cp.Variable(ctx.size, boolean=True, name="override")
        exempt = cp.Variable(ctx.size, nonneg=True, name="exempt_weight")
        constraints += [
            override <= held,
            cp.sum(override) <= limits.max_bucket_overrides,
            exempt <= ctx.weights,
            exempt <= cp.multiply(counts.upper, override),
        ]
        blocked = np.flatnonzero(~counts.overridable)
        if len(blocked):
            constraints.append(override[blocked] == 0)
        for block in bucket_blocks:
            bound = block.bound_values(values)
            constraints.append(block.coefficients @ (ctx.weights - exempt) <= bound)
    constraints += count_constraints(ctx.weights, held, counts, override)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem.solve(
                solver="SCIP",
                scip_params={"limits/time": limits.mip_time_limit, "limits/gap": limits.mip_gap},
            )
    except (cp.error.SolverError, ImportError):
        return None
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleError(count_conflict(program, counts), conflicts=count_fields(counts))
    if held.value is None:
        return None
    model = problem.solver_stats.extra_stats.get("model")
    gap = float(model.getGap()) if model is not None else float("nan")
    primal = float(problem.value)
    bound = primal
    if model is not None:
        bound = primal - (float(model.getPrimalbound()) - float(model.getDualbound()))
    status = str(problem.solver_stats.extra_stats.get("scip_status", problem.status))
    return Selection(
        held=held.value > 0.5,
        path="mixed_integer",
        gap=gap,
        bound=bound,
        status=status,
        overridden=None if override is None else override.value > 0.5,
    )


def count_constraints(
    weights: cp.Expression,
    held: cp.Expression,
    counts: Counts,
    override: cp.Expression | None = None,
) -> list:
    """The count rules on the binaries, with ℓ z ≤ w ≤ u z linking them to the weights.

    Overridden members (``override``) do not count towards their bucket's position limit.
    """
    limits = counts.limits
    rules = [weights <= cp.multiply(counts.upper, held), weights >= cp.multiply(counts.lower, held)]
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
    return rules
