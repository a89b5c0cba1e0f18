"""Meeting position-count limits: SCIP on a perspective-strengthened mixed-integer program,
or a labelled greedy-and-swap heuristic; then the chosen support as a convex program.

The mixed-integer program adds a binary z_i ("held") per member:
ℓ_i z_i ≤ w_i ≤ u_i z_i with u_i the largest weight any single linear limit allows (never an
arbitrary big constant), each separable quadratic term w_i² in perspective form w_i²/z_i,
and the count rules as linear constraints on z (and y_b, "bucket represented").
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import ModelContext, RowBlock, Rule, Sense
from portcon.constraints.groups import GroupCap
from portcon.errors import InfeasibleError, LimitsError, SolverError
from portcon.limits import MipMethod
from portcon.optimizer.counts import BUCKET_CAP_RULES, Counts, violated
from portcon.optimizer.model import build
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.optimizer.solve import solve

HEURISTIC_CANDIDATES = 12
ANCHOR_POINTS = 6
MIP_LARGEST = 3000  # members; beyond this "auto" goes straight to the heuristic
HEURISTIC_SECONDS = 5.0
TIE = 1e-9
TIE_SECONDS = 2.0


@dataclass(frozen=True)
class Selection:
    """Which members are held, and how that was decided.

    Attributes
    ----------
    held
        Boolean per member.
    path
        ``"mixed_integer"`` (SCIP) or ``"heuristic"``.
    gap
        Relative gap to the best bound (SCIP's, or the convex relaxation's for the heuristic).
    bound
        Lower bound on the objective of any portfolio meeting the count rules.
    status
        Solver status.
    overridden
        Members that break their bucket's limits by bucket override (None: no overrides).
    """

    held: np.ndarray
    path: str
    gap: float
    bound: float
    status: str
    overridden: np.ndarray | None = None


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


def prefer_scores(program: Program, counts: Counts, selection: Selection) -> Selection:
    """Among supports of equal value, hold the higher scores.

    Swaps the lowest-scoring held member for the highest-scoring one left out while the
    objective does not get worse (to 1e-9 relative): with equal weights and K positions this
    walks to the K best scores.
    """
    if selection.overridden is not None and selection.overridden.any():
        return selection  # a swap would have to re-decide the overrides too
    scores = program.universe.score[program.members]
    held = selection.held.copy()
    value = _objective(program, held, counts)
    if value is None:
        return selection
    started, trials = time.perf_counter(), 0
    budget = 2 * int(held.sum()) + 2
    swapped = True
    while swapped and trials < budget and time.perf_counter() - started < TIE_SECONDS:
        swapped = False
        for drop in sorted(np.flatnonzero(held), key=lambda i: scores[i]):
            add = next(
                (
                    j
                    for j in sorted(np.flatnonzero(~held), key=lambda i: -scores[i])
                    if scores[j] > scores[drop] and _admissible(_swap(held, drop, j), counts)
                ),
                None,
            )
            if add is None:
                continue
            trials += 1
            trial_value = _objective(program, _swap(held, drop, add), counts)
            if trial_value is not None and trial_value <= value + TIE * max(1.0, abs(value)):
                held, value, swapped = _swap(held, drop, add), min(value, trial_value), True
                break
            if trials >= budget:
                break
    return dataclasses.replace(selection, held=held)


def _swap(held: np.ndarray, drop: int, add: int) -> np.ndarray:
    trial = held.copy()
    trial[drop], trial[add] = False, True
    return trial


def anchors(counts: Counts, relaxation: Solution, points: int = ANCHOR_POINTS) -> np.ndarray:
    """Tangent points per member: a grid from its floor to its cap, and its relaxed weight."""
    low = np.maximum(counts.lower, 1e-4)
    high = np.maximum(counts.upper, low)
    grid = low[:, None] + (high - low)[:, None] * np.linspace(0.0, 1.0, points)[None, :]
    return np.column_stack([grid, np.clip(relaxation.weights, low, high)])


def _scip(program: Program, counts: Counts, relaxation: Solution) -> Selection | None:
    limits = program.limits
    ctx = ModelContext(len(program.members))
    for name, value in program.parameters().items():
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
        values = program.parameters()
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
        raise InfeasibleError(_count_conflict(program, counts), conflicts=_count_fields(counts))
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


def _count_fields(counts: Counts) -> list[str]:
    limits = counts.limits
    fields = [
        field
        for field in (
            "max_total_positions",
            "max_new_positions",
            "min_position_size",
            "max_positions_per_bucket",
            "min_buckets_represented",
            "correlation_limit",
        )
        if getattr(limits, field) is not None
    ]
    return fields + (["bucket_position_limits"] if limits.bucket_position_limits else [])


def _count_conflict(program: Program, counts: Counts) -> str:
    limits, words = counts.limits, []
    if limits.min_buckets_represented is not None and counts.buckets is not None:
        available = len(set(counts.buckets[counts.upper >= counts.represented]))
        if available < limits.min_buckets_represented:
            words.append(
                f"min_buckets_represented={limits.min_buckets_represented} but only {available} "
                f"bucket{'s' if available != 1 else ''} have an eligible asset"
            )
    detail = f": {'; '.join(words)}" if words else ""
    return (
        f"no portfolio meets the position-count limits ({', '.join(_count_fields(counts))}) "
        f"together with the other limits{detail}"
    )


def heuristic(program: Program, counts: Counts, relaxation: Solution) -> Selection:
    """Greedy by relaxation weight (score breaks ties), then one-for-one swap improvement.

    The gap is measured against the convex relaxation's objective, a valid lower bound.
    """
    started = time.perf_counter()
    order = np.lexsort((-program.universe.score[program.members], -relaxation.weights))
    held = _greedy(order, counts)
    best = _objective(program, held, counts)
    if best is None:
        raise InfeasibleError(_count_conflict(program, counts), conflicts=_count_fields(counts))
    improved = True
    while improved and time.perf_counter() - started < HEURISTIC_SECONDS:
        improved = False
        outside = [i for i in order if not held[i]][:HEURISTIC_CANDIDATES]
        inside = sorted(np.flatnonzero(held), key=lambda i: relaxation.weights[i])
        for drop in inside:
            for add in outside:
                trial = held.copy()
                trial[drop], trial[add] = False, True
                if not _admissible(trial, counts):
                    continue
                value = _objective(program, trial, counts)
                if value is not None and value < best - 1e-12:
                    held, best, improved = trial, value, True
                    break
            if improved:
                break
    bound = relaxation.objective
    gap = (best - bound) / max(abs(bound), 1e-12)
    return Selection(
        held=held, path="heuristic", gap=max(gap, 0.0), bound=bound, status="heuristic"
    )


def _greedy(order: np.ndarray, counts: Counts) -> np.ndarray:
    held = np.zeros(len(order), dtype=bool)
    limits = counts.limits
    if limits.min_buckets_represented is not None and counts.buckets is not None:
        chosen_buckets: set[str] = set()
        for i in order:
            bucket = counts.buckets[i]
            if bucket in chosen_buckets or counts.upper[i] < counts.represented:
                continue
            trial = held.copy()
            trial[i] = True
            if _admissible(trial, counts, complete=False):
                held = trial
                chosen_buckets.add(bucket)
            if len(chosen_buckets) >= limits.min_buckets_represented:
                break
    for i in order:
        if held[i] or counts.upper[i] < max(counts.lower[i], 1e-12):
            continue
        trial = held.copy()
        trial[i] = True
        if _admissible(trial, counts, complete=False):
            held = trial
    return held


def _admissible(held: np.ndarray, counts: Counts, complete: bool = True) -> bool:
    """The count rules that depend on the support alone (a partial support may still lack
    buckets: ``complete=False`` skips min_buckets_represented)."""
    weights = np.where(held, np.maximum(counts.lower, counts.represented), 0.0)
    broken = set(violated(weights, counts)) - {"min_position_size"}
    if not complete:
        broken.discard("min_buckets_represented")
    return not broken


def _objective(program: Program, held: np.ndarray, counts: Counts) -> float | None:
    fixed = with_support(program, held, {}, counts)
    try:
        return solve(fixed, build(fixed)).objective
    except (InfeasibleError, SolverError):
        return None


@dataclass(frozen=True, eq=False)
class SupportRule(Rule):
    """The support chosen for the count rules, as constraint rows.

    Members not held: w_i ≤ 0, named by the count rule that excluded them; their shadow price
    is what one more unit of them would save. Members held with a floor: w_i ≥ ℓ_i.
    """

    size: int
    excluded: dict[str, list[int]]
    floors: dict[str, list[int]]
    lower: np.ndarray
    assets: tuple[str, ...]

    def parameters(self) -> dict[str, float | np.ndarray]:
        values: dict[str, float | np.ndarray] = {}
        for rule, members in self.excluded.items():
            values[f"support.excluded:{rule}"] = np.zeros(len(members))
        for rule, members in self.floors.items():
            values[f"support.floor:{rule}"] = self.lower[members]
        return values

    def blocks(self) -> list[RowBlock]:
        blocks = []
        for prefix, groups, sense in (
            ("support.excluded", self.excluded, Sense.LE),
            ("support.floor", self.floors, Sense.GE),
        ):
            for rule, members in groups.items():
                rows = len(members)
                selection = np.zeros((rows, self.size))
                selection[np.arange(rows), members] = 1.0
                blocks.append(
                    RowBlock(
                        rule=rule,
                        subjects=tuple(self.assets[m] for m in members),
                        sense=sense,
                        coefficients=sp.csr_array(selection),
                        parameter=f"{prefix}:{rule}",
                    )
                )
        return blocks


def with_support(
    program: Program,
    held: np.ndarray,
    reasons: dict[int, tuple[str, str]],
    counts: Counts,
    overridden: np.ndarray | None = None,
) -> Program:
    """``program`` restricted to the support ``held`` (with floors on held members).

    ``reasons`` maps an excluded member to (rule, sentence); members without one are
    grouped under ``mixed_integer``.
    """
    counts_lower = _floors(program, counts)
    excluded: dict[str, list[int]] = {}
    for member in np.flatnonzero(~held):
        rule = reasons.get(int(member), ("mixed_integer", ""))[0]
        excluded.setdefault(rule, []).append(int(member))
    floors: dict[str, list[int]] = {}
    for member in np.flatnonzero(held & (counts_lower[0] > 0)):
        floors.setdefault(counts_lower[1][member], []).append(int(member))
    rule = SupportRule(
        size=len(program.members),
        excluded=excluded,
        floors=floors,
        lower=counts_lower[0],
        assets=program.assets,
    )
    sentences = {program.assets[m]: sentence for m, (_, sentence) in reasons.items()}
    rules = [*program.rules, rule]
    notes = dict(program.count_notes)
    if overridden is not None and overridden.any():
        exempt = frozenset(int(m) for m in np.flatnonzero(overridden))
        rules = [
            dataclasses.replace(r, exempt=exempt)
            if isinstance(r, GroupCap) and r.kind == "bucket"
            else r
            for r in rules
        ]
        threshold = program.limits.bucket_override_threshold
        scores = program.universe.score[program.members]
        for member in exempt:
            notes[program.assets[member]] = (
                f"bucket override: score {scores[member]:.2f} ≥ {threshold:.2f}"
            )
    return dataclasses.replace(
        program,
        rules=rules,
        count_reasons={**program.count_reasons, **sentences},
        count_notes=notes,
    )


def _floors(program: Program, counts: Counts) -> tuple[np.ndarray, list[str]]:
    """Each member's floor when held (counts.lower) and the rule that sets it."""
    size = len(program.members)
    setting = program.limits.min_position_size or 0.0
    column = program.universe.min_weight
    own = np.zeros(size) if column is None else np.nan_to_num(column[program.members])
    names = []
    for k in range(size):
        if own[k] >= counts.lower[k] and own[k] > setting:
            names.append("min_weight")
        elif setting >= counts.lower[k]:
            names.append("min_position_size")
        else:
            names.append("min_buckets_represented")
    return counts.lower, names


def exclusion_reasons(
    program: Program, held: np.ndarray, counts: Counts, overridden: np.ndarray | None = None
) -> dict[int, tuple[str, str]]:
    """For each member not held: the count rule that keeps it out, and a sentence."""
    limits, assets = counts.limits, program.assets
    counted_in_bucket = held if overridden is None else held & ~overridden
    reasons: dict[int, tuple[str, str]] = {}
    new_held = int(np.sum(held & counts.new))
    for member in np.flatnonzero(~held):
        partner = next(
            (
                (j if i == member else i, c)
                for i, j, c in counts.pairs
                if member in (i, j) and held[j if i == member else i]
            ),
            None,
        )
        bucket = None if counts.buckets is None else counts.buckets[member]
        bucket_limit = counts.bucket_limits.get(bucket) if bucket is not None else None
        counted = counted_in_bucket & (counts.new if limits.allow_bucket_overflow else True)
        in_bucket = 0 if bucket is None else int(np.sum(counted & (counts.buckets == bucket)))
        if partner is not None:
            other, correlation = partner
            reasons[int(member)] = (
                "correlation_limit",
                f"correlation {correlation:.2f} with {assets[other]} above correlation_limit "
                f"{limits.correlation_limit:.2f}",
            )
        elif (
            bucket_limit is not None
            and in_bucket >= bucket_limit
            and (counts.new[member] or not limits.allow_bucket_overflow)
        ):
            field = (
                "bucket_position_limits"
                if bucket in limits.bucket_position_limits
                else "max_positions_per_bucket"
            )
            reasons[int(member)] = (field, f"{bucket} already has {in_bucket} positions ({field})")
        elif (
            limits.max_new_positions is not None
            and counts.new[member]
            and new_held >= limits.max_new_positions
        ):
            reasons[int(member)] = (
                "max_new_positions",
                f"max_new_positions={limits.max_new_positions} reached",
            )
        elif limits.max_total_positions is not None and held.sum() >= limits.max_total_positions:
            reasons[int(member)] = (
                "max_total_positions",
                f"max_total_positions={limits.max_total_positions} reached",
            )
        elif counts.lower[member] > counts.upper[member]:
            reasons[int(member)] = (
                "min_position_size",
                f"its minimum size {100 * counts.lower[member]:.1f}% is above what the limits "
                f"allow it ({100 * counts.upper[member]:.1f}%)",
            )
        elif counts.lower[member] > 0:
            reasons[int(member)] = (
                "min_position_size",
                f"holding it at its minimum {100 * counts.lower[member]:.1f}% costs more than it "
                "adds",
            )
    return reasons
