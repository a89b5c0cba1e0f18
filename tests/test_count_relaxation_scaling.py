"""The perspective relaxation without N × N work (issue 15): same bound, lean first compile.

Two changes to the relaxed program of counts/perspective.py: its N-long linear terms (Σ t, μᵀw,
Σ w) enter the objective as scalar variables fixed by rows (counts/relaxed_objective.scalar),
and its SOC rows are reordered by a row gather instead of cvxpy's sparse product
(optimizer/lean_clarabel.py). The references here are the formulation as it was before (its
objective copied verbatim below) solved by cvxpy's own Clarabel interface.
"""

from __future__ import annotations

import tracemalloc

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL

import portcon
from portcon.constraints.base import RISK_EXPOSURES, RISK_SPECIFIC
from portcon.counts import flow, perspective, relaxed_objective
from portcon.counts.formulation import objective_scale
from portcon.optimizer import lean_clarabel
from tests.test_counts import RULES, _frame
from tests.test_factor_path import factor_book

# Clarabel's default relative gap tolerance is 1e-8; the two forms are the same program, met by
# different iterates, so their optima agree to it (measured: 4e-10 at N = 1000).
SAME_BOUND = 1e-8
MEMORY_N = 1200
PROOF = "the perspective relaxation's bound proved this support"


class _Stop(BaseException):
    """Ends a construct once the count step's inputs are captured."""


def _count_inputs(monkeypatch, frame: pd.DataFrame, limits: dict, **extra) -> tuple:
    """(program, counts, relaxation) that construct hands the count step, without running it."""
    seen: list[tuple] = []

    def capture(program, counts, relaxation, deadline):
        seen.append((program, counts, relaxation))
        raise _Stop

    monkeypatch.setattr(flow, "select", capture)
    with pytest.raises(_Stop):
        portcon.construct(frame, limits, **extra)
    monkeypatch.undo()
    return seen[0]


def _factor_inputs(monkeypatch, n: int, seed: int, mode: str = "mean_variance") -> tuple:
    model, mu, buckets = factor_book(n, seed)
    scores = pd.DataFrame({"score": 0.8, "bucket": buckets})
    limits = dict(
        sizing_mode=mode,
        risk_aversion=2.0,
        target_allocation=1.0,
        min_score_threshold=None,
        max_single_position=0.05 if n > 100 else 0.2,
        max_bucket_allocation=0.15 if n > 100 else 0.5,
        max_total_positions=max(6, n // 40),
        min_position_size=0.01,
    )
    return _count_inputs(monkeypatch, scores, limits, factor_model=model, expected_returns=mu)


def _old_expression(objective, ctx, held, parameter):
    """counts/relaxed_objective.expression as it was before issue 15 (verbatim)."""
    name = relaxed_objective.form(objective)
    p, w = parameter, ctx.weights
    unit = relaxed_objective.UNIT
    if name in ("proportional", "tiered_deviation"):
        squares, cone = _old_perspective_sum(cp.multiply(p("sizing.scale"), w), held)
        if name == "tiered_deviation":
            return 0.5 * squares - p(unit) * cp.sum(w), cone
        return 0.5 * squares + p("sizing.cash_penalty") * ctx.cash, cone
    if name == "minimum_variance":
        squares, cone = _old_perspective_sum(cp.multiply(p(RISK_SPECIFIC), w), held)
        factor = cp.sum_squares(p(RISK_EXPOSURES).T @ w)
        return 0.5 * (factor + squares) + p("sizing.cash_penalty") * ctx.cash, cone
    squares, cone = _old_perspective_sum(cp.multiply(p("sizing.risk_specific"), w), held)
    risk = cp.sum_squares(p("sizing.risk_exposures").T @ w) + squares
    gain = -p("sizing.mu") @ w + risk
    if name == "mean_variance":
        return gain + p("sizing.cash_penalty") * ctx.cash, cone
    return gain, cone


def _old_perspective_sum(scaled, held):
    squares = cp.Variable(held.shape[0], nonneg=True, name="perspective")
    cone = cp.SOC(squares + held, cp.vstack([2 * scaled, squares - held]), axis=0)
    return cp.sum(squares), [cone]


def _books(monkeypatch) -> list[tuple[str, tuple]]:
    """Random books of every relaxed form: three factor books (mean-variance, min-variance,
    Kelly), score-weighted books under three count rules and a tiered-deviation one."""
    books = [
        ("mean_variance", _factor_inputs(monkeypatch, 60, seed=11)),
        ("min_variance", _factor_inputs(monkeypatch, 60, seed=12, mode="min_variance")),
        ("kelly", _factor_inputs(monkeypatch, 60, seed=13, mode="kelly")),
    ]
    rules = ["max_total_positions", "min_position_size", "max_positions_per_bucket"]
    for seed, rule in enumerate([*rules, "min_buckets_represented"]):
        limits = dict(RULES[rule], sizing_mode="score_weighted", min_score_threshold=0.0)
        if rule == "min_buckets_represented":  # tiered deviation: residual to cash
            limits.update(residual_strategy="cash", target_allocation=0.9)
        books.append((rule, _count_inputs(monkeypatch, _frame(seed, 10), limits)))
    return books


def _scale(program, relaxation) -> float:
    """The objective scale of the count step; for tiered deviation at least ½ Σ r, since its
    relaxed objective leaves that constant out and is ~1e-11 at the convex optimum (Clarabel
    then stops for insufficient progress, in either form)."""
    objective = program.require_objective()
    return max(objective_scale(relaxation), relaxed_objective.constant(objective))


def test_the_reformulated_relaxation_gives_the_bound_it_gave_before(monkeypatch) -> None:
    forms = set()
    for label, (program, counts, relaxation) in _books(monkeypatch):
        forms.add(relaxed_objective.form(program.require_objective()))
        scale = _scale(program, relaxation)
        perspective.clear_cache()
        new = perspective.solve_relaxed(program, counts, scale)
        perspective.clear_cache()
        with monkeypatch.context() as patched:
            patched.setattr(relaxed_objective, "expression", _old_expression)
            patched.setattr(lean_clarabel, "SOLVER", "CLARABEL")
            old = perspective.solve_relaxed(program, counts, scale)
        perspective.clear_cache()
        assert new is not None and old is not None, label
        assert new[0] == pytest.approx(old[0], rel=SAME_BOUND, abs=1e-12), label
        assert np.array_equal(new[1] > 0.5, old[1] > 0.5), label  # the same rounded support
    assert forms == set(relaxed_objective.TERMS)  # every relaxed form is compared


def test_the_gather_gives_cvxpys_matrix_and_solution_bit_for_bit(monkeypatch) -> None:
    """LeanClarabel's restructured A equals cvxpy's product, and the solves agree exactly."""
    for label, (program, counts, relaxation) in _books(monkeypatch):
        scale = _scale(program, relaxation)
        solutions = []
        for solver in (lean_clarabel.SOLVER, "CLARABEL"):
            model = perspective.build_relaxed(program, counts, scale)
            model.bind(program, counts, scale)
            model.problem.solve(solver=solver)
            solutions.append(
                (model.problem.value, model.held.value.copy(), model.context.weights.value.copy())
            )
        (value_a, held_a, weights_a), (value_b, held_b, weights_b) = solutions
        assert value_a == value_b, label
        assert np.array_equal(held_a, held_b) and np.array_equal(weights_a, weights_b), label

        model = perspective.build_relaxed(program, counts, scale)
        model.bind(program, counts, scale)
        _, chain, _ = model.problem.get_problem_data(solver="CLARABEL")
        stuffed = model.problem
        for reduction in chain.reductions[:-1]:  # up to the solver: the unformatted program
            stuffed, _ = reduction.apply(stuffed)
        ours = lean_clarabel.LeanClarabel.format_constraints(stuffed, CLARABEL.EXP_CONE_ORDER)
        theirs = CLARABEL.format_constraints(stuffed, CLARABEL.EXP_CONE_ORDER)
        a, b = ours.A.tocsc(), theirs.A.tocsc()
        a.sort_indices()
        b.sort_indices()
        assert a.shape == b.shape, label
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices), label
        assert np.array_equal(a.data, b.data), label


def test_the_first_compile_at_moderate_n_stays_lean(monkeypatch) -> None:
    """At N = 1200 the relaxed program's first build, compile and solve used to peak at ~1.1 GB
    (the SOC product's column workspace, ~100 N × N float matrices, and the dense objective
    coefficients, ~25); it must stay under three N × N matrices of floats."""
    program, counts, relaxation = _factor_inputs(monkeypatch, MEMORY_N, seed=5)
    perspective.clear_cache()
    tracemalloc.start()
    try:
        relaxed = perspective.solve_relaxed(program, counts, objective_scale(relaxation))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        perspective.clear_cache()
    assert relaxed is not None
    assert peak < 3 * 8 * MEMORY_N**2, f"peak {peak / 1e6:.1f} MB"


def _scip_text(interface, problem, path) -> str:
    """The SCIP model ``interface`` builds for ``problem``, as SCIP writes it (.cip)."""
    from pyscipopt import Model

    data, _, _ = problem.get_problem_data(solver="SCIP", ignore_dpp=True)
    model = Model()
    model.hideOutput(True)
    matrix, rhs, cost, dims = interface._define_data(dict(data))
    variables = interface._create_variables(model, data, cost)
    interface._add_constraints(model, variables, matrix, rhs, dims)
    model.writeProblem(str(path), verbose=False)
    return path.read_text()


def test_the_lean_scip_model_is_cvxpys_model(monkeypatch, tmp_path) -> None:
    """counts/scip_model.LeanScip builds the SCIP model cvxpy's interface builds, written out
    by SCIP and compared as text (variables, types, bounds, every row's terms in order, cones),
    on books with one cone per member (factor books), bucket-represented and override binaries."""
    from cvxpy.reductions.solvers.conic_solvers.scip_conif import SCIP

    from portcon.counts import formulation, scip_model

    books = _books(monkeypatch)
    limits = dict(RULES["bucket overrides"], sizing_mode="score_weighted", min_score_threshold=0.0)
    books.append(("bucket overrides", _count_inputs(monkeypatch, _frame(4, 10), limits)))
    cones = 0
    for label, (program, counts, relaxation) in books:
        problem = formulation.build_model(program, counts, relaxation).problem
        ours = _scip_text(scip_model.LeanScip(), problem, tmp_path / "ours.cip")
        theirs = _scip_text(SCIP(), problem, tmp_path / "theirs.cip")
        assert ours == theirs, label
        cones += ours.count("soc_t_") > 0
    assert cones >= 3  # the cone rows, where the two differ in work, are compared


def test_past_the_scip_size_the_perspective_proof_is_tried_before_the_heuristic(
    monkeypatch,
) -> None:
    """Beyond MIP_LARGEST members (here lowered to 5) SCIP is not run; a support the relaxation
    proves is used as it is below that size (same weights), else the heuristic chooses."""
    from portcon.counts import mip

    def no_scip(*args, **kwargs):
        raise AssertionError("SCIP must not run past MIP_LARGEST")

    proven = heuristic = 0
    for rule in ["max_total_positions", "min_position_size", "max_positions_per_bucket"]:
        for seed in range(3):
            frame = _frame(seed, 10)
            limits = dict(RULES[rule], sizing_mode="score_weighted", min_score_threshold=0.0)
            below = portcon.construct(frame, limits)
            with monkeypatch.context() as patched:
                patched.setattr(mip, "MIP_LARGEST", 5)
                patched.setattr(mip, "scip_and_search", no_scip)
                above = portcon.construct(frame, limits)
            if any(PROOF in note for note in above.notes):
                proven += 1
                assert any(PROOF in note for note in below.notes), (rule, seed)
                assert np.array_equal(above.weights.to_numpy(), below.weights.to_numpy())
            else:
                heuristic += 1
                assert any("the heuristic chose it" in note for note in above.notes), (rule, seed)
    assert proven >= 2 and proven + heuristic == 9


def _old_exclusion_reasons(program, held, counts, overridden=None) -> dict[int, tuple[str, str]]:
    """counts/support.exclusion_reasons before issue 15 (verbatim): O(N) work per member."""
    limits, assets = counts.limits, program.assets
    used = 0 if overridden is None else int(overridden.sum())
    spare = limits.max_bucket_overrides - used if counts.overridable is not None else 0
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
        counted = held & (counts.new if limits.allow_bucket_overflow else True)
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
            and not (spare > 0 and counts.overridable is not None and counts.overridable[member])
        ):
            field = (
                "bucket_position_limits"
                if bucket in limits.bucket_position_limits
                else "max_positions_per_bucket"
            )
            sentence = f"{bucket} already has {in_bucket} positions ({field})"
            if limits.allow_bucket_overflow and bucket is not None:  # say what the count is
                existing = int(np.sum(~counts.new & (counts.buckets == bucket)))
                named = limits.bucket_position_limits.get(bucket)
                allowed = limits.max_positions_per_bucket if named is None else named
                left = f"{bucket_limit}, all taken" if bucket_limit else "none"
                sentence = (
                    f"{bucket} already has {existing} existing positions, {allowed} allowed "
                    f"({field}); allow_bucket_overflow keeps them, slots left for new ones: {left}"
                )
            if counts.overridable is not None and counts.overridable[member]:
                sentence += f" and all {limits.max_bucket_overrides} bucket overrides are used"
            reasons[int(member)] = (field, sentence)
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
                "the count search chose a support without it (held, it would need at least "
                f"{100 * counts.lower[member]:.1f}%)",
            )
    return reasons


def test_exclusion_reasons_equal_the_per_member_version(monkeypatch) -> None:
    """support.exclusion_reasons (counts per bucket and the held partners found once) gives the
    reasons and sentences the per-member loop gave, on every count rule, random supports."""
    from portcon.counts import support
    from tests.test_counts import _correlation

    rng = np.random.default_rng(21)
    checked = 0
    fields: set[str] = set()
    for rule, rule_limits in RULES.items():
        for overflow in (False, True):
            frame = _frame(3, 12, current=True)
            limits = dict(rule_limits, sizing_mode="score_weighted", min_score_threshold=0.0)
            limits["allow_bucket_overflow"] = overflow
            extra = {}
            if rule == "correlation_limit":
                correlation = _correlation(3, 12)
                extra["correlation"] = pd.DataFrame(
                    correlation, index=frame.index, columns=frame.index
                )
            try:
                program, counts, _ = _count_inputs(monkeypatch, frame, limits, **extra)
            except pytest.fail.Exception:
                continue  # the convex answer met the counts: no count step
            for _ in range(6):
                held = rng.random(len(counts.lower)) < rng.uniform(0.2, 0.8)
                overridden = held & (rng.random(len(held)) < 0.3)
                for used in (None, overridden):
                    expected = _old_exclusion_reasons(program, held, counts, used)
                    assert support.exclusion_reasons(program, held, counts, used) == expected
                    fields |= {field for field, _ in expected.values()}
                    checked += 1
    assert checked >= 8 * 12
    assert {"correlation_limit", "max_positions_per_bucket", "max_total_positions"} <= fields
