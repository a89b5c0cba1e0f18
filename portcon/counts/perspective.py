"""A support proven optimal by the perspective relaxation alone, without SCIP.

The continuous relaxation of the mixed-integer program of :mod:`portcon.counts.formulation`
(every binary in [0, 1], each separable w_i² in perspective form w_i²/z_i) is often exact on
everyday books: its optimum equals the best support's objective and its z come out 0/1. Then
the support named by z is proven within ``mip_gap`` by one convex solve, and SCIP is not needed.

The relaxed program is built once per structure (program structure, which count rows exist,
bucket membership, pairs) with every number a DPP Parameter, pooled, and re-bound per call, so a
call pays one Clarabel solve rather than a cvxpy compilation. The tangent cuts of the
mixed-integer model are left out: in the continuous relaxation the cones imply them. The
objective is divided by a data-derived scale, as in the mixed-integer model, so a book in daily
units is bounded as accurately as one in annual units.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.counts import cap_cuts, relaxed_objective
from portcon.counts.formulation import TINY, objective_scale
from portcon.counts.greedy import Tracker
from portcon.counts.heuristic import admissible, support_value
from portcon.counts.rules import Counts
from portcon.counts.selection import Selection
from portcon.errors import InfeasibleError, SolverError, TimeLimitError
from portcon.optimizer import lean_clarabel, time_budget
from portcon.optimizer.model import IdleModels
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution, SolutionPath
from portcon.sizing.modes import Sizing

ENABLED = True  # False: every count step goes to SCIP (tests compare the two paths)
STATUS = "perspective bound"
BOUND_SLACK = 1e-6  # relative: the relaxed optimum is taken this much lower (solver tolerance)
FRACTIONAL = 1e-6  # z above this marks a member the relaxation would hold in part
POOL_SIZE = 16  # structures kept
IDLE_PER_STRUCTURE = 4  # idle models kept per structure (one per concurrent solve)
SOLVER = "CLARABEL"


@dataclass(eq=False)
class RelaxedModel:
    """The relaxed perspective program of one structure, its data as Parameters.

    ``own`` are its Parameters beyond the program's: the count rules' numbers and the
    objective's, divided by the objective scale (:mod:`portcon.counts.relaxed_objective`).
    """

    context: ModelContext
    held: cp.Variable
    own: dict[str, cp.Parameter]
    problem: cp.Problem

    def bind(self, program: Program, counts: Counts, scale: float) -> None:
        """Set every Parameter from ``program``, ``counts`` and the objective ``scale``."""
        values = program.parameters()
        own = own_values(program, counts, values, scale)
        for name, value in [*values.items(), *own.items()]:
            parameter = self.context.parameters.get(name)
            if parameter is None:
                parameter = self.own[name]
            if parameter.value is None or not np.array_equal(parameter.value, value):
                parameter.value = value


def proven_support(program: Program, counts: Counts, relaxation: Solution) -> Selection | None:
    """The support named by the relaxed perspective program when it is proven within mip_gap.

    Returns None when the relaxation does not prove its rounded support (SCIP is then
    needed), or when the proof does not apply: sizing modes that re-derive their objective
    per support, possible bucket overrides, objectives without a relaxed perspective form.

    Raises
    ------
    TimeLimitError
        When the call's time_limit runs out before or during the relaxed solve.
    """
    if not ENABLED or not applies(program, counts):
        return None
    relaxed = solve_relaxed(program, counts, objective_scale(relaxation))
    if relaxed is None:
        return None
    bound, held_share = relaxed
    best: tuple[float, np.ndarray] | None = None
    for held in candidate_supports(program, counts, held_share):
        value = support_value(program, held, counts)
        if value is not None and (best is None or value < best[0]):
            best = (value, held)
        if best is not None and gap_of(best[0], bound) <= program.limits.mip_gap:
            break
    if best is None:
        return None
    value, held = best
    gap = gap_of(value, bound)
    if gap > program.limits.mip_gap:
        return None
    return Selection(
        held=held,
        path=SolutionPath.MIXED_INTEGER,
        gap=gap,
        bound=min(bound, value),
        status=STATUS,
        notes=(
            "the perspective relaxation's bound proved this support within mip_gap; SCIP was "
            "not needed",
        ),
        objective=value,
    )


def gap_of(value: float, bound: float) -> float:
    """(value − bound) / max(|value|, 1e-12), never negative."""
    return max(value - bound, 0.0) / max(abs(value), TINY)


def applies(program: Program, counts: Counts) -> bool:
    """True when the relaxed perspective program states the count step's objective."""
    if type(program.sizing).refine is not Sizing.refine or counts.overrides_possible:
        return False
    return relaxed_objective.form(program.require_objective()) is not None


def candidate_supports(
    program: Program, counts: Counts, held_share: np.ndarray
) -> Iterator[np.ndarray]:
    """Supports read off the relaxed z, each built only when the ones before did not prove:
    z > ½, then (for fractional z) the bucket-spreading greedy, then greedy by z and score."""
    seen: list[np.ndarray] = []

    def fresh(support: np.ndarray) -> bool:
        if not admissible(program, support, counts) or any(
            np.array_equal(support, c) for c in seen
        ):
            return False
        seen.append(support)
        return True

    rounded = held_share > 0.5
    if fresh(rounded):
        yield rounded
    if not np.any((held_share > FRACTIONAL) & (held_share < 1.0 - FRACTIONAL)):
        return
    spread = spread_greedy(program, counts, held_share)
    if fresh(spread):
        yield spread
    scores = program.universe.score[program.members]
    order = np.lexsort((-scores, -np.round(held_share, 6)))
    greedy = np.zeros(len(held_share), dtype=bool)
    for i in order:
        if held_share[i] <= FRACTIONAL:
            break
        greedy[i] = True
        if not admissible(program, greedy, counts, complete=False):
            greedy[i] = False
    if fresh(greedy):
        yield greedy


def spread_greedy(program: Program, counts: Counts, held_share: np.ndarray) -> np.ndarray:
    """Greedy by z that takes a member of a bucket not yet held first (then z, then score):
    where z spreads positions over buckets under a bucket cap, the support that fills the cap
    uses as many buckets as it can (the `crisis` preset)."""
    if counts.buckets is None:
        return np.zeros(len(held_share), dtype=bool)
    scores = program.universe.score[program.members]
    labels = {label: k for k, label in enumerate(dict.fromkeys(counts.buckets))}
    bucket = np.array([labels[label] for label in counts.buckets])
    per_bucket = np.zeros(len(labels), dtype=int)
    tracker = Tracker(program, counts)  # the count rules and floors, one member at a time
    left = [int(i) for i in np.flatnonzero(held_share > FRACTIONAL)]
    while left:
        left.sort(
            key=lambda i: (per_bucket[bucket[i]], -float(np.round(held_share[i], 6)), -scores[i])
        )
        i = left.pop(0)
        if tracker.fits(i):
            tracker.add(i)
            per_bucket[bucket[i]] += 1
    return tracker.held


def solve_relaxed(
    program: Program, counts: Counts, scale: float
) -> tuple[float, np.ndarray] | None:
    """(a proven lower bound, z) of the relaxed program, or None when it is not solved.

    ``scale`` divides the objective inside the solve (a data-derived unit, e.g.
    :func:`~portcon.counts.formulation.objective_scale`); the bound is in the program's units.
    """
    objective = program.require_objective()
    with _checkout(program, counts, scale) as model:
        try:
            time_budget.check("the perspective relaxation")
            model.problem.solve(solver=lean_clarabel.SOLVER, **time_budget.solver_options(SOLVER))
        except TimeLimitError:
            raise
        except (SolverError, cp.error.SolverError, InfeasibleError):
            return None
        if model.problem.status != cp.OPTIMAL or model.held.value is None:
            return None
        value = scale * float(model.problem.value) + relaxed_objective.constant(objective)
        held_share = np.clip(np.asarray(model.held.value, dtype=float), 0.0, 1.0)
    return value - BOUND_SLACK * max(abs(value), TINY), held_share


@contextmanager
def _checkout(program: Program, counts: Counts, scale: float) -> Iterator[RelaxedModel]:
    """A relaxed model of the structure of ``program`` and ``counts``, bound to their values."""
    key = structure(program, counts)
    model = _pool.take(key)
    if model is None:
        model = build_relaxed(program, counts, scale)
    model.bind(program, counts, scale)
    try:
        yield model
    finally:
        _pool.give_back(key, model)


_pool: IdleModels[RelaxedModel] = IdleModels(POOL_SIZE, IDLE_PER_STRUCTURE)


def clear_cache() -> None:
    """Forget every pooled relaxed model."""
    _pool.clear()


def structure(program: Program, counts: Counts) -> Hashable:
    """What fixes the relaxed program's shape: the program's structure and the count rows."""
    limits = counts.limits
    buckets = None
    if counts.buckets is not None:
        buckets = (
            tuple(tuple(inside) for _, inside in bucket_rows(counts)),
            None
            if limits.min_buckets_represented is None
            else tuple(tuple(inside) for inside in represented_rows(counts)),
        )
    return (
        program.structure(),
        counts.short is not None,
        limits.max_total_positions is not None,
        tuple(np.flatnonzero(counts.new)) if new_row(counts) else None,
        buckets,
        tuple((i, j) for i, j, _ in counts.pairs),
        None
        if counts.priority is None or not keep_row(counts)
        else tuple(np.flatnonzero(counts.priority)),
        cap_cuts.structure(program, counts),
    )


def new_row(counts: Counts) -> bool:
    return counts.limits.max_new_positions is not None and bool(counts.new.any())


def keep_row(counts: Counts) -> bool:
    return counts.priority is not None and counts.keep > 0


def bucket_rows(counts: Counts) -> list[tuple[str, np.ndarray]]:
    """(bucket, the members its position count counts), for buckets with such members."""
    if counts.buckets is None:
        return []
    counted = counts.new if counts.limits.allow_bucket_overflow else np.ones(len(counts.new), bool)
    rows = []
    for bucket in counts.bucket_limits:
        inside = np.flatnonzero((counts.buckets == bucket) & counted)
        if len(inside):
            rows.append((bucket, inside))
    return rows


def represented_rows(counts: Counts) -> list[np.ndarray]:
    """Members per bucket label, for min_buckets_represented."""
    assert counts.buckets is not None
    labels = list(dict.fromkeys(counts.buckets))
    return [np.flatnonzero(counts.buckets == label) for label in labels]


def count_values(counts: Counts) -> dict[str, float | np.ndarray]:
    """The count rules' numbers, by Parameter name."""
    limits = counts.limits
    values: dict[str, float | np.ndarray] = {
        "counts.lower": counts.lower,
        "counts.upper": counts.upper,
        "counts.represented": float(counts.represented),
    }
    if counts.short is not None:
        values["counts.short"] = counts.short
    if limits.max_total_positions is not None:
        values["counts.total"] = float(limits.max_total_positions)
    if new_row(counts):
        values["counts.new"] = float(limits.max_new_positions or 0)
    for k, (bucket, _) in enumerate(bucket_rows(counts)):
        values[f"counts.bucket.{k}"] = float(counts.bucket_limits[bucket])
    if counts.buckets is not None and limits.min_buckets_represented is not None:
        values["counts.buckets_represented"] = float(limits.min_buckets_represented)
    if keep_row(counts):
        values["counts.keep"] = float(counts.keep)
    return values


def own_values(
    program: Program, counts: Counts, values: dict[str, float | np.ndarray], scale: float
) -> dict[str, float | np.ndarray]:
    """The relaxed program's own Parameter values: the count rules' and the objective's."""
    objective = relaxed_objective.values(program.require_objective(), values, scale)
    cuts = cap_cuts.cut_values(program, counts) if cap_cuts.cap_rows(program, counts) else {}
    return {**count_values(counts), **objective, **cuts}


def build_relaxed(program: Program, counts: Counts, scale: float) -> RelaxedModel:
    """The relaxed perspective program for the structure of ``program`` and ``counts``."""
    ctx = ModelContext(len(program.members))
    values = program.parameters()
    for name, value in values.items():
        ctx.add_parameter(name, value)
    own = {
        name: cp.Parameter(np.shape(value), name=name, value=value)
        for name, value in own_values(program, counts, values, scale).items()
    }
    held = cp.Variable(ctx.size, name="held")
    objective, cones = relaxed_objective.expression(
        program.require_objective(),
        ctx,
        held,
        lambda name: own[relaxed_objective.PREFIX + name],
    )
    constraints = [block.build(ctx) for block in program.blocks]
    constraints += [ctx.cash >= 0, held >= 0, held <= 1, *cones]
    constraints += relaxed_count_rows(ctx, held, counts, own)
    constraints += cap_cuts.cut_constraints(program, counts, ctx, held, own)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    if not problem.is_dcp(dpp=True):  # type: ignore[call-arg]
        raise RuntimeError("portcon built a relaxed perspective program that is not DPP; a bug")
    return RelaxedModel(ctx, held, own, problem)


def relaxed_count_rows(
    ctx: ModelContext, held: cp.Variable, counts: Counts, params: dict[str, cp.Parameter]
) -> list[cp.Constraint]:
    """The count rules of :func:`portcon.counts.formulation.count_constraints`, z in [0, 1]."""
    weights = ctx.weights
    lower = cp.multiply(params["counts.lower"], held)
    if "counts.short" in params:
        lower = lower - cp.multiply(params["counts.short"], held)
    rows = [weights <= cp.multiply(params["counts.upper"], held), weights >= lower]
    if "counts.total" in params:
        rows.append(cp.sum(held) <= params["counts.total"])
    if "counts.new" in params:
        rows.append(cp.sum(held[np.flatnonzero(counts.new)]) <= params["counts.new"])
    for k, (_, inside) in enumerate(bucket_rows(counts)):
        rows.append(cp.sum(held[inside]) <= params[f"counts.bucket.{k}"])
    if "counts.buckets_represented" in params:
        groups = represented_rows(counts)
        represented = cp.Variable(len(groups), name="represented")
        rows += [represented >= 0, represented <= 1]
        for k, inside in enumerate(groups):
            rows.append(represented[k] * params["counts.represented"] <= cp.sum(weights[inside]))
            rows.append(represented[k] <= cp.sum(held[inside]))
        rows.append(cp.sum(represented) >= params["counts.buckets_represented"])
    for i, j, _ in counts.pairs:
        rows.append(held[i] + held[j] <= 1)
    if "counts.keep" in params:
        assert counts.priority is not None
        rows.append(cp.sum(held[np.flatnonzero(counts.priority)]) >= params["counts.keep"])
    return rows
