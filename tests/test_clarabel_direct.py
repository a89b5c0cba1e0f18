"""A pooled model re-solved by clarabel_direct (its data handed to Clarabel as lists) gets
exactly what cvxpy's own ``problem.solve`` gets: every variable value, every dual value, the
status, the objective value and the iteration count, byte for byte, on the pooled programs
of six sizing modes re-bound to random values and on a program written out here."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd

from portcon import FactorModel, construct
from portcon.limits import Limits
from portcon.optimizer import clarabel_direct
from portcon.optimizer import model as model_module
from portcon.optimizer.solve import CLARABEL_OPTIONS

MODES = ["score_weighted", "min_variance", "mean_variance", "max_sharpe", "risk_parity", "kelly"]


def _book() -> tuple[pd.DataFrame, Limits, dict[str, object]]:
    rng = np.random.default_rng(7)
    assets = [f"Q{i:02d}" for i in range(30)]
    frame = pd.DataFrame(
        {"score": rng.uniform(0.5, 1.0, 30), "bucket": [f"B{i % 3}" for i in range(30)]},
        index=assets,
    )
    factors = ["F1", "F2"]
    loadings = pd.DataFrame(rng.normal(0, 0.2, (30, 2)), assets, factors)
    factor_cov = pd.DataFrame(np.diag([0.04, 0.02]), factors, factors)
    model = FactorModel(loadings, factor_cov, pd.Series(rng.uniform(0.01, 0.03, 30), assets))
    limits = Limits(
        max_single_position=0.1,
        max_bucket_allocation=0.4,
        min_score_threshold=None,
        max_portfolio_volatility=0.12,
    )
    returns = pd.Series(rng.normal(0.06, 0.04, 30), assets)
    return frame, limits, {"factor_model": model, "expected_returns": returns}


def _clarabel_problems() -> list[tuple[model_module.Model, cp.Problem]]:
    """Pooled models' problems compiled for Clarabel, after solving six sizing modes."""
    frame, limits, market = _book()
    model_module.clear_cache()
    for mode in MODES:
        construct(frame, limits.replace(sizing_mode=mode, max_turnover=None), **market)
    found = []
    for models in model_module._pool._models._idle.values():
        for model in models:
            problem = model.for_solver("CLARABEL")
            if clarabel_direct.applies(problem):
                found.append((model, problem))
    return found


def _state(problem: cp.Problem) -> list[object]:
    """Everything a solve leaves on the problem that portcon could read: types, shapes, bytes."""
    values: list[object] = [problem.status, problem.solver_stats.num_iters]
    values.append(np.asarray(problem.value, dtype=float).tobytes())
    for variable in problem.variables():
        values.append(_typed(variable.value))
    for constraint in problem.constraints:
        duals = constraint.dual_value
        parts = duals if isinstance(duals, list) else [duals]
        values.extend(_typed(part) for part in parts)
    return values


def _typed(value: object) -> tuple[object, ...]:
    numbers = np.asarray(value)
    return (type(value), numbers.dtype, numbers.shape, numbers.tobytes())


def _rebind(model: model_module.Model, rng: np.random.Generator) -> None:
    for parameter in model.context.parameters.values():
        value = np.asarray(parameter.value, dtype=float)
        scaled = value * rng.uniform(0.8, 1.25, value.shape)
        parameter.value = scaled if value.shape else float(scaled)


def test_a_direct_solve_leaves_what_cvxpys_solve_leaves_byte_for_byte() -> None:
    problems = _clarabel_problems()
    assert len(problems) >= len(MODES) - 1  # some modes may share a structure
    rng = np.random.default_rng(3)
    for model, problem in problems:
        for _ in range(3):
            _rebind(model, rng)
            problem.solve(solver="CLARABEL", warm_start=False, **CLARABEL_OPTIONS)
            expected = _state(problem)
            for variable in problem.variables():
                variable.value = None
            clarabel_direct.solve(problem, dict(CLARABEL_OPTIONS))
            assert _state(problem) == expected


def test_a_written_out_program_with_parameters_in_rows_and_objective() -> None:
    """Several parameter terms per coefficient, parameters in rows and right-hand sides, an
    equality and a cone: the same bits both ways, and an answer equal to a plain re-solve."""
    x = cp.Variable(6)
    a, b, c = cp.Parameter(6), cp.Parameter(6), cp.Parameter(nonneg=True)
    objective = (a + 2 * b) @ x + cp.sum_squares(x) + c
    rows = [x >= -1, x <= 1, cp.multiply(a, x) + b <= c + 2, cp.sum(x) == c, cp.norm(x, 2) <= 2]
    problem = cp.Problem(cp.Minimize(objective), rows)
    rng = np.random.default_rng(4)

    def rebind() -> None:
        a.value, b.value, c.value = rng.normal(0, 1, 6), rng.normal(0, 0.1, 6), rng.uniform()

    rebind()
    assert not clarabel_direct.applies(problem)  # nothing compiled yet
    problem.solve(solver="CLARABEL")
    assert clarabel_direct.applies(problem)
    for _ in range(5):
        rebind()
        problem.solve(solver="CLARABEL", warm_start=False)
        expected = _state(problem)
        clarabel_direct.solve(problem, {})
        assert _state(problem) == expected
        direct = np.array(x.value)
        plain = cp.Problem(cp.Minimize(objective), rows)
        plain.solve(solver="CLARABEL", ignore_dpp=True)  # x now holds the plain solve's answer
        assert np.allclose(direct, x.value, atol=1e-7)


def test_a_problem_last_compiled_for_another_solver_is_left_to_cvxpy() -> None:
    x = cp.Variable(3)
    p = cp.Parameter(3, value=np.ones(3))
    problem = cp.Problem(cp.Minimize(cp.sum_squares(x - p)), [x >= 0])
    problem.solve(solver="OSQP")
    assert not clarabel_direct.applies(problem)
    problem.solve(solver="CLARABEL", ignore_dpp=True)  # compiled without DPP: not reusable
    assert not clarabel_direct.applies(problem)


def _listed(matrix: object) -> tuple[object, ...]:
    """What Clarabel's binding reads of a matrix."""
    return (
        matrix.data.tolist(),
        matrix.indices.tolist(),
        matrix.indptr.tolist(),
        tuple(matrix.shape),
        bool(matrix.has_canonical_format),
    )


def test_the_upper_triangle_is_scipys_triu_entry_for_entry() -> None:
    """Random square matrices (some with explicit zeros, empty columns, or not canonical,
    which go to scipy), and every pooled program's P: what Clarabel reads is the same."""
    import scipy.sparse as sp
    from cvxpy.settings import P as DATA_P

    rng = np.random.default_rng(9)
    matrices = []
    for size in (1, 2, 7, 40):
        for density in (0.0, 0.2, 1.0):
            dense = np.where(rng.random((size, size)) < density, rng.normal(size=(size, size)), 0)
            matrix = sp.csc_array(dense)
            matrices.append(matrix)
            with_zero = matrix.copy()
            if with_zero.nnz:
                with_zero.data[0] = 0.0  # an explicit zero, kept by triu
            matrices.append(with_zero)
    unsorted = sp.csc_array(
        (np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), np.array([0, 2, 3])), shape=(2, 2)
    )
    unsorted.has_sorted_indices = False
    matrices.append(unsorted)
    for _, problem in _clarabel_problems():
        data = problem.get_problem_data("CLARABEL")[0]
        matrices.append(data[DATA_P])
    assert any(m.shape[0] > 100 for m in matrices)
    for matrix in matrices:
        expected = _listed(sp.triu(matrix).tocsc())
        assert _listed(clarabel_direct.upper_triangle(matrix)) == expected
