"""The mixed-integer program of the count rules, in cvxpy (solved by :mod:`portcon.counts.mip`).

A binary z_i ("held") per member: ℓ_i z_i ≤ w_i ≤ u_i z_i with u_i the largest weight any
single linear limit allows (never an arbitrary big constant), each separable quadratic term
w_i² in perspective form w_i²/z_i with perspective cuts, and the count rules as linear
constraints on z (and y_b, "bucket represented", and o_i, "bucket override"). The objective is
divided by a data-derived scale (:func:`objective_scale`) so the model is the same in daily or
annual units.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.counts.diagonal import stronger_split
from portcon.counts.rules import Counts
from portcon.errors import LimitsError
from portcon.market import MarketData
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.sizing.objectives import SizingObjective

ANCHOR_POINTS = 6
TINY = 1e-12


@dataclass(frozen=True)
class ScipModel:
    """The mixed-integer program in cvxpy, its objective divided by ``scale``."""

    problem: cp.Problem
    held: cp.Variable
    override: cp.Variable | None
    scale: float


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
    sizing = with_stronger_split(program.require_objective())
    perspective = sizing.perspective(ctx, held, anchors(counts, relaxation))
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


def with_stronger_split(objective: SizingObjective) -> SizingObjective:
    """``objective`` with its risk model re-split so the perspective covers more of Σ
    (:mod:`portcon.counts.diagonal`); Σ itself, and so the objective, is unchanged."""
    market = getattr(objective, "market", None)
    if not isinstance(market, MarketData) or not market.has_risk:
        return objective
    if not dataclasses.is_dataclass(objective) or "market" not in {
        f.name for f in dataclasses.fields(objective)
    }:
        return objective
    exposures, specific = stronger_split(*market.require_risk())
    if exposures is market.exposures:
        return objective
    split = dataclasses.replace(market, exposures=exposures, specific=specific)
    return dataclasses.replace(objective, market=split)


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
