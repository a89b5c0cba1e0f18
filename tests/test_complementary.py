"""solve._complementary skips evaluating a row's slack when no multiplier of it exceeds the
threshold (min(slack, multiplier) cannot then): the same verdict as evaluating every row,
on accurate and deliberately inaccurate Clarabel answers (loose tolerances leave rows with
both slack and multiplier well above 1e-8)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from cvxpy.constraints.nonpos import Inequality

from portcon.optimizer.solve import UNRESOLVED, _complementary


def _every_row(problem: cp.Problem) -> bool:
    for constraint in problem.constraints:
        if not isinstance(constraint, Inequality):
            continue
        slack = -np.asarray(constraint.expr.value, dtype=float)
        dual = np.asarray(constraint.dual_value, dtype=float)
        if np.any(np.minimum(slack, dual) > UNRESOLVED):
            return False
    return True


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("tolerance", [1e-10, 1e-3, 1e-1])
def test_the_verdict_is_that_of_evaluating_every_row(seed: int, tolerance: float) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    w = cp.Variable(n)
    groups = (rng.random((3, n)) < 0.5).astype(float)
    factors = rng.normal(0, 0.2, (n, 2))
    target = rng.uniform(0, 1, n)
    problem = cp.Problem(
        cp.Minimize(cp.sum_squares(w - target / target.sum())),
        [
            cp.sum(w) == 1,
            w >= 0,
            w <= rng.uniform(0.1, 0.3),
            groups @ w <= rng.uniform(0.6, 0.9, 3),
            cp.norm(factors.T @ w, 2) <= rng.uniform(0.05, 0.2),
        ],
    )
    options = {"tol_gap_abs": tolerance, "tol_gap_rel": tolerance, "tol_feas": tolerance}
    problem.solve(solver="CLARABEL", **options)
    assert problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    assert _complementary(problem) == _every_row(problem)


def test_loose_answers_do_fail_the_test_so_both_verdicts_occur() -> None:
    verdicts = set()
    for seed in range(10):
        for tolerance in (1e-10, 1e-1):
            rng = np.random.default_rng(seed)
            x = cp.Variable(6)
            problem = cp.Problem(
                cp.Minimize(cp.sum_squares(x - rng.normal(size=6))), [x >= 0, x <= 1]
            )
            problem.solve(solver="CLARABEL", tol_gap_abs=tolerance, tol_gap_rel=tolerance)
            verdicts.add(_complementary(problem))
            assert _complementary(problem) == _every_row(problem)
    assert verdicts == {True, False}
