"""Pooled models with second-order-cone rows (volatility and tracking-error caps) compile lean.

cvxpy reorders a DPP program's SOC rows by a sparse product whose workspace grows with
(variables + 1)(Parameter entries + 1): a volatility cap on a 2000-name factor model took
3.3 GB and 5.2 s to compile. Pooled models are now compiled through
``optimizer/lean_clarabel.py`` (the same reordering as a row gather). Checked here against
cvxpy's own Clarabel path on the same model: the same problem data and the same solution, bit
for bit, and against a dense program written from scratch; and the first compile's memory.
"""

from __future__ import annotations

import tracemalloc

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL

import portcon
from portcon.market import prepare_market_data
from portcon.optimizer import clarabel_direct, lean_clarabel
from portcon.optimizer.model import _build, _pool, clear_cache
from portcon.optimizer.program import compile_program
from portcon.optimizer.solve import solve_program
from portcon.universe import Universe
from tests.test_factor_path import construct, factor_book

CAPPED = dict(sizing_mode="mean_variance", risk_aversion=0.5, max_portfolio_volatility=0.2)
WEIGHTS = 1e-5  # an interior-point optimum against another: ~√ of the solver's tolerance


def _program(n: int, seed: int, **limits):
    """The compiled program of a factor-model book with a volatility cap."""
    model, mu, buckets = factor_book(n, seed=seed)
    scores = pd.DataFrame({"score": 0.8, "bucket": buckets})
    fields = portcon.Limits(
        target_allocation=1.0,
        min_score_threshold=None,
        max_single_position=0.05,
        max_bucket_allocation=0.15,
        **{**CAPPED, **limits},
    )
    universe = Universe.from_scores(scores)
    market = prepare_market_data(universe, fields, factor_model=model, expected_returns=mu)
    return compile_program(universe, fields, market)


@pytest.mark.parametrize("limits", [{}, {"max_portfolio_volatility": 0.12}])
def test_lean_compile_gives_cvxpys_data_and_solution_bit_for_bit(limits) -> None:
    program = _program(80, seed=1, **limits)
    solutions, data = [], []
    for solver in (lean_clarabel.SOLVER, "CLARABEL"):
        model = _build(program, dpp=True)
        model.bind(program)
        model.problem.solve(solver=solver)
        solutions.append((model.problem.value, model.context.weights.value.copy()))
        data.append(model.problem.get_problem_data(solver)[0])
    (value_a, weights_a), (value_b, weights_b) = solutions
    assert value_a == value_b
    assert np.array_equal(weights_a, weights_b)
    for key in ("A", "b", "c"):
        a, b = data[0][key], data[1][key]
        if hasattr(a, "toarray"):
            a, b = a.tocsc(), b.tocsc()
            a.sort_indices()
            b.sort_indices()
            assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            a, b = a.data, b.data
        assert np.array_equal(a, b), key


def test_a_pooled_capped_model_is_compiled_lean_and_then_solved_directly() -> None:
    """The first solve compiles through the lean interface; the next re-binds and goes to
    clarabel_direct with no second compilation."""
    program = _program(60, seed=2, max_portfolio_volatility=0.12)
    clear_cache()
    first = solve_program(program)
    model = _pool._models.take(program.structure())
    assert model is not None
    problem = model.for_solver("CLARABEL")
    assert isinstance(problem._cache.key[0], lean_clarabel.LeanClarabel)
    assert clarabel_direct.applies(problem)
    compiled = problem._cache.param_prog
    _pool._models.give_back(program.structure(), model)
    second = solve_program(program)
    assert problem._cache.param_prog is compiled
    assert np.array_equal(first.weights, second.weights)


def test_volatility_capped_answer_equals_a_dense_program() -> None:
    """Mean-variance under a binding volatility cap, against the same program stated with the
    dense Σ (quad_form) in cvxpy from scratch."""
    n = 120
    model, mu, buckets = factor_book(n, seed=5)
    clear_cache()
    limits = {**CAPPED, "risk_aversion": 0.05, "max_portfolio_volatility": 0.05}
    ours = construct(model, mu, buckets, **limits)
    sigma = model.covariance().to_numpy()
    w = cp.Variable(n)
    reference = cp.Problem(
        cp.Minimize(-mu.to_numpy() @ w + 0.025 * cp.quad_form(w, cp.psd_wrap(sigma))),
        [
            cp.sum(w) == 1,
            w >= 0,
            w <= 0.05,
            *[cp.sum(w[np.flatnonzero(buckets == b)]) <= 0.15 for b in buckets.unique()],
            cp.quad_form(w, cp.psd_wrap(sigma)) <= 0.05**2,
        ],
    )
    reference.solve(solver="CLARABEL")
    found = ours.weights.reindex(mu.index).fillna(0.0).to_numpy()
    assert np.sqrt(found @ sigma @ found) <= 0.05 + 1e-7
    assert np.sqrt(w.value @ sigma @ w.value) == pytest.approx(0.05, abs=1e-6)  # binding
    assert np.max(np.abs(found - w.value)) <= WEIGHTS


def test_a_volatility_cap_first_compile_stays_lean() -> None:
    """At N = 1200 the first (compiling) construct with a volatility cap peaked at 1,165 MB
    with cvxpy's reordering; it must stay under three N × N matrices of floats, as the
    uncapped factor path does (tests/test_factor_path.py)."""
    n = 1200
    model, mu, buckets = factor_book(n, seed=4)
    clear_cache()
    tracemalloc.start()
    try:
        portfolio = construct(model, mu, buckets, **CAPPED)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert portfolio.weights.sum() == pytest.approx(1.0, abs=1e-6)
    assert peak < 3 * 8 * n * n, f"peak {peak / 1e6:.1f} MB"


def test_the_interface_is_cvxpys_clarabel() -> None:
    assert isinstance(lean_clarabel.SOLVER, CLARABEL)
