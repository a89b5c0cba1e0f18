"""A support proven optimal by the perspective relaxation alone, without SCIP.

The continuous relaxation of the mixed-integer program of :mod:`portcon.counts.formulation`
(every binary in [0, 1], each separable w_i² in perspective form w_i²/z_i) is often exact on
everyday books: its optimum equals the best support's objective and its z come out 0/1. Then
the support named by z is proven within ``mip_gap`` by one convex solve, and SCIP is not needed.

The relaxed program is built once per structure (program structure, which count rows exist,
bucket membership, pairs) with every number a DPP Parameter, pooled, and re-bound per call, so a
call pays one Clarabel solve rather than a cvxpy compilation. The tangent cuts of the
mixed-integer model are left out: in the continuous relaxation the cones imply them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from portcon.constraints.base import RISK_EXPOSURES, RISK_SPECIFIC, ModelContext
from portcon.counts.formulation import TINY
from portcon.counts.heuristic import admissible, support_value
from portcon.counts.rules import Counts
from portcon.counts.selection import Selection
from portcon.errors import InfeasibleError, SolverError, TimeLimitError
from portcon.optimizer import time_budget
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution, SolutionPath
from portcon.sizing.modes import Sizing
from portcon.sizing.objectives import Proportional, SizingObjective, TieredDeviation
from portcon.sizing.risk_objectives import MaxSharpe, MeanVariance, MinimumVariance, QuadraticKelly
from portcon.sizing.wrapped import AddedTerms

ENABLED = True  # False: every count step goes to SCIP (tests compare the two paths)
STATUS = "perspective bound"
BOUND_SLACK = 1e-7  # relative: the relaxed optimum is taken this much lower (solver tolerance)
FRACTIONAL = 1e-6  # z above this marks a member the relaxation would hold in part
POOL_SIZE = 16  # structures kept
SOLVER = "CLARABEL"


@dataclass(eq=False)
class RelaxedModel:
    """The relaxed perspective program of one structure, its data as Parameters."""

    context: ModelContext
    held: cp.Variable
    counts: dict[str, cp.Parameter]
    problem: cp.Problem
    constant: float = 0.0

    def bind(self, program: Program, counts: Counts) -> None:
        """Set every Parameter from ``program`` and ``counts``."""
        values = {**program.parameters(), **count_values(counts)}
        for name, value in values.items():
            parameter = self.context.parameters.get(name) or self.counts[name]
            if parameter.value is None or not np.array_equal(parameter.value, value):
                parameter.value = value
        self.constant = objective_constant(program.require_objective())


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
    relaxed = solve_relaxed(program, counts)
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
    return relaxed_objective_form(program.require_objective()) is not None


def relaxed_objective_form(objective: SizingObjective) -> str | None:
    """Which DPP perspective form states ``objective`` (None: none does)."""
    if isinstance(objective, AddedTerms):
        return relaxed_objective_form(objective.inner)
    if isinstance(objective, Proportional | TieredDeviation | MinimumVariance | QuadraticKelly):
        return type(objective).__name__
    if type(objective) is MeanVariance:  # not MaxSharpe: its γ* depends on the support
        return "MeanVariance"
    return None


def candidate_supports(program: Program, counts: Counts, held_share: np.ndarray) -> list:
    """Supports read off the relaxed z: z > ½, then (for fractional z) greedy by z, score."""
    candidates = []
    rounded = held_share > 0.5
    if admissible(program, rounded, counts):
        candidates.append(rounded)
    if np.any((held_share > FRACTIONAL) & (held_share < 1.0 - FRACTIONAL)):
        scores = program.universe.score[program.members]
        order = np.lexsort((-scores, -np.round(held_share, 6)))
        greedy = np.zeros(len(held_share), dtype=bool)
        for i in order:
            if held_share[i] <= FRACTIONAL:
                break
            greedy[i] = True
            if not admissible(program, greedy, counts, complete=False):
                greedy[i] = False
        if admissible(program, greedy, counts) and not any(
            np.array_equal(greedy, c) for c in candidates
        ):
            candidates.append(greedy)
    return candidates


def solve_relaxed(program: Program, counts: Counts) -> tuple[float, np.ndarray] | None:
    """(a proven lower bound, z) of the relaxed program, or None when it is not solved."""
    with _pool.checkout(program, counts) as model:
        try:
            time_budget.solve_within(model.problem, SOLVER, "the perspective relaxation")
        except TimeLimitError:
            raise
        except (SolverError, cp.error.SolverError, InfeasibleError):
            return None
        if model.problem.status != cp.OPTIMAL or model.held.value is None:
            return None
        value = float(model.problem.value) + model.constant
        held_share = np.clip(np.asarray(model.held.value, dtype=float), 0.0, 1.0)
    return value - BOUND_SLACK * max(abs(value), 1.0), held_share


class RelaxedPool:
    """Relaxed models by structure; each lent to one solve at a time (thread-safe)."""

    def __init__(self, structures: int = POOL_SIZE) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[Hashable, list[RelaxedModel]] = OrderedDict()
        self._structures = structures

    def checkout(self, program: Program, counts: Counts) -> _Lease:
        """A model of the structure of ``program`` and ``counts``, bound to their values."""
        return _Lease(self, structure(program, counts), program, counts)

    def take(self, key: Hashable) -> RelaxedModel | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give_back(self, key: Hashable, model: RelaxedModel) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(model)
            self._idle.move_to_end(key)
            while len(self._idle) > self._structures:
                self._idle.popitem(last=False)

    def clear(self) -> None:
        """Forget every idle model."""
        with self._lock:
            self._idle.clear()


class _Lease:
    def __init__(self, pool: RelaxedPool, key: Hashable, program: Program, counts: Counts):
        self.pool, self.key, self.program, self.counts = pool, key, program, counts
        self.model: RelaxedModel | None = None

    def __enter__(self) -> RelaxedModel:
        self.model = self.pool.take(self.key) or build_relaxed(self.program, self.counts)
        self.model.bind(self.program, self.counts)
        return self.model

    def __exit__(self, *exc: object) -> None:
        if self.model is not None:
            self.pool.give_back(self.key, self.model)


_pool = RelaxedPool()


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


def build_relaxed(program: Program, counts: Counts) -> RelaxedModel:
    """The relaxed perspective program for the structure of ``program`` and ``counts``."""
    ctx = ModelContext(len(program.members))
    for name, value in program.parameters().items():
        ctx.add_parameter(name, value)
    params = {
        name: cp.Parameter(np.shape(value), name=name, value=value)
        for name, value in count_values(counts).items()
    }
    held = cp.Variable(ctx.size, name="held")
    objective, cones = relaxed_objective(program.require_objective(), ctx, held)
    constraints = [block.build(ctx) for block in program.blocks]
    constraints += [ctx.cash >= 0, held >= 0, held <= 1, *cones]
    constraints += relaxed_count_rows(ctx, held, counts, params)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    if not problem.is_dcp(dpp=True):  # type: ignore[call-arg]
        raise RuntimeError("portcon built a relaxed perspective program that is not DPP; a bug")
    return RelaxedModel(ctx, held, params, problem)


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


def scaled_perspective(
    scaled: cp.Expression, held: cp.Variable
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """Σ t with t_i ≥ v_i² / z_i for v = ``scaled`` (rotated cones, DPP in v's Parameters)."""
    squares = cp.Variable(held.shape[0], nonneg=True, name="perspective")
    cone = cp.SOC(squares + held, cp.vstack([2 * scaled, squares - held]), axis=0)
    return cp.sum(squares), [cone]


def relaxed_objective(
    objective: SizingObjective, ctx: ModelContext, held: cp.Variable
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """``objective`` with its separable squares in perspective form, DPP (no constant term:
    see :func:`objective_constant`)."""
    if isinstance(objective, AddedTerms):
        inner, rows = relaxed_objective(objective.inner, ctx, held)
        terms, more = objective.added_terms(ctx)
        return inner + terms, [*rows, *more]
    p, w = ctx.parameter, ctx.weights
    if isinstance(objective, Proportional):
        squares, cone = scaled_perspective(cp.multiply(p("sizing.scale"), w), held)
        return 0.5 * squares + p("sizing.cash_penalty") * ctx.cash, cone
    if isinstance(objective, TieredDeviation):  # ½ (w − r)²/r = ½ w²/r − w + ½ r
        squares, cone = scaled_perspective(cp.multiply(p("sizing.scale"), w), held)
        return 0.5 * squares - cp.sum(w), cone
    if isinstance(objective, MinimumVariance):
        squares, cone = scaled_perspective(cp.multiply(p(RISK_SPECIFIC), w), held)
        factor = cp.sum_squares(p(RISK_EXPOSURES).T @ w)
        return 0.5 * (factor + squares) + p("sizing.cash_penalty") * ctx.cash, cone
    if isinstance(objective, MeanVariance | QuadraticKelly) and not isinstance(
        objective, MaxSharpe
    ):
        squares, cone = scaled_perspective(cp.multiply(p("sizing.risk_specific"), w), held)
        risk = cp.sum_squares(p("sizing.risk_exposures").T @ w) + squares
        penalty = p("sizing.cash_penalty") * ctx.cash if isinstance(objective, MeanVariance) else 0
        return -p("sizing.mu") @ w + risk + penalty, cone
    raise RuntimeError(f"no relaxed perspective form for {type(objective).__name__}; a bug")


def objective_constant(objective: SizingObjective) -> float:
    """The constant term :func:`relaxed_objective` leaves out (½ Σ r under TieredDeviation)."""
    while isinstance(objective, AddedTerms):
        objective = objective.inner
    if isinstance(objective, TieredDeviation):
        return float(0.5 * objective.raw.sum())
    return 0.0
