"""A re-bound pooled model solved by Clarabel with its data handed over as Python lists.

Clarabel's Python binding reads every array it is given element by element through the
sequence protocol; from a numpy array each element is first boxed as a numpy scalar, which
costs ~0.5 ms per solve at N = 500 (8,500 matrix entries). From a list of Python floats and
ints the same read is several times faster. The numbers are the same: ``tolist`` gives the
float64 values and int32 indices exactly, so Clarabel sees the same problem and returns the
same bits (tested against cvxpy's own call on pooled programs).

Everything else is cvxpy's: the problem data of the cached DPP compilation
(:meth:`cvxpy.Problem.get_problem_data`, which runs the same reductions as ``solve``), the
solver settings (its Clarabel interface's own ``parse_solver_opts``), the cones, the upper
triangle of P, and the unpacking of the results (:meth:`cvxpy.Problem.unpack_results`).
Only the step between, ``ClarabelConif.solve_via_data`` without a warm start, is replaced,
and the result's ``x`` and ``z`` are read from Clarabel once (each read copies them).

A pooled model re-solved for another scenario keeps its sparsity pattern and often its P:
the lists (and P's upper triangle) of an array whose bytes equal the same array's at the
problem's previous solve are that solve's lists (:class:`_Lists`), not made again.
"""

from __future__ import annotations

import weakref
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import dims_to_solver_cones
from cvxpy.reductions.solvers.conic_solvers.conic_solver import ConicSolver
from cvxpy.settings import A as DATA_A
from cvxpy.settings import B as DATA_B
from cvxpy.settings import C as DATA_C
from cvxpy.settings import P as DATA_P

from portcon.optimizer.lean_clarabel import LeanClarabel

CLARABEL = "CLARABEL"


class _ListedMatrix:
    """A CSC matrix as Clarabel's binding reads it, its arrays as Python lists."""

    def __init__(self, matrix: Any, lists: _Lists, name: str) -> None:
        self.data = lists.listed(f"{name}.data", matrix.data)
        self.indices = lists.listed(f"{name}.indices", matrix.indices)
        self.indptr = lists.listed(f"{name}.indptr", matrix.indptr)
        self.shape = matrix.shape
        self.nnz = matrix.nnz
        self.has_canonical_format = matrix.has_canonical_format


class _Lists:
    """One problem's arrays as lists at its last solve, by name, with the bytes they came
    from: an array of the same dtype, shape and bytes (so the same values, bit for bit,
    -0.0 and NaN payloads included) gets the same list again. Also P's upper triangle, by
    the bytes of P. A pooled model is lent to one thread at a time, so one problem's lists
    are never read and written at once."""

    def __init__(self) -> None:
        self._lists: dict[str, tuple[tuple[Any, ...], list[Any]]] = {}
        self._upper: tuple[tuple[Any, ...], Any] | None = None

    def listed(self, name: str, array: Any) -> list[Any]:
        array = np.asarray(array)
        key = _fingerprint(array)
        kept = self._lists.get(name)
        if kept is not None and kept[0] == key:
            return kept[1]
        values = array.tolist()
        self._lists[name] = (key, values)
        return values

    def upper_triangle(self, matrix: Any) -> Any:
        if getattr(matrix, "format", None) != "csc":
            return upper_triangle(matrix)
        key = tuple(_fingerprint(part) for part in (matrix.data, matrix.indices, matrix.indptr))
        key += (matrix.shape, matrix.has_canonical_format)
        if self._upper is None or self._upper[0] != key:
            self._upper = (key, upper_triangle(matrix))
        return self._upper[1]


def _fingerprint(array: np.ndarray) -> tuple[Any, ...]:
    return (array.dtype.str, array.shape, array.tobytes())


# each problem's lists at its last direct solve
_LISTS: weakref.WeakKeyDictionary[cp.Problem, _Lists] = weakref.WeakKeyDictionary()


def applies(problem: cp.Problem) -> bool:
    """True when ``problem`` holds a DPP compilation for Clarabel (it was solved by it once,
    by name or through :class:`~portcon.optimizer.lean_clarabel.LeanClarabel`)."""
    cache = problem._cache
    key = cache.key  # (solver, gp, ignore_dpp, use_quad_obj), as get_problem_data makes it
    return (
        cache.param_prog is not None
        and cache.solving_chain is not None
        and key is not None
        and (key[0] == CLARABEL or isinstance(key[0], LeanClarabel))
        and key[1:3] == (False, False)
    )


def solve(problem: cp.Problem, options: dict[str, Any]) -> None:
    """Solve ``problem`` (see :func:`applies`) as ``problem.solve(solver="CLARABEL",
    warm_start=False, **options)`` would, and unpack the results into it.

    Raises
    ------
    cvxpy.error.SolverError
        As cvxpy would: when Clarabel fails.
    """
    key = problem._cache.key
    compiled_for = CLARABEL if key is None else key[0]  # as compiled: no recompilation
    data, chain, inverse_data = problem.get_problem_data(compiled_for, solver_opts=options)
    lists = _LISTS.get(problem)
    if lists is None:
        lists = _LISTS[problem] = _Lists()
    solution = _solve_via_data(chain.solver, data, options, lists)
    problem.unpack_results(_ReadOnce(solution), chain, inverse_data)


class _ReadOnce:
    """Clarabel's result with ``x`` and ``z`` read once, as float arrays: its binding builds
    a new list of every element at each read (~70 µs for z at N = 500) and cvxpy reads z
    three times, then turns each slice of the lists into an array. The same float64 values
    either way; the values cvxpy unpacks are views of these arrays (of the same types and
    shapes, tested), one pair of arrays per solve."""

    def __init__(self, solution: Any) -> None:
        self._solution = solution
        self.x = np.array(solution.x)
        self.z = np.array(solution.z)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._solution, name)


def _solve_via_data(
    solver: Any, data: dict[str, Any], options: dict[str, Any], lists: _Lists | None = None
) -> Any:
    """``ClarabelConif.solve_via_data`` (no warm start, not verbose) with listed arrays
    (those of ``lists`` where the arrays are unchanged)."""
    import clarabel

    lists = _Lists() if lists is None else lists
    q = data[DATA_C]
    quadratic = data[DATA_P] if DATA_P in data else sp.csc_array((q.size, q.size))
    upper = lists.upper_triangle(quadratic)
    cones = dims_to_solver_cones(data[ConicSolver.DIMS])
    settings = solver.parse_solver_opts(False, dict(options))
    return clarabel.DefaultSolver(
        _ListedMatrix(upper, lists, "P"),
        lists.listed("q", q),
        _ListedMatrix(data[DATA_A], lists, "A"),
        lists.listed("b", data[DATA_B]),
        cones,
        settings,
    ).solve()


def upper_triangle(matrix: Any) -> Any:
    """``scipy.sparse.triu(matrix).tocsc()``, the same entries in the same order, without its
    COO round trip for a square CSC matrix in canonical form (sorted rows, no duplicates):
    its entries on or above the diagonal, explicit zeros kept as triu keeps them."""
    if not (
        getattr(matrix, "format", None) == "csc"
        and matrix.shape[0] == matrix.shape[1]
        and matrix.has_canonical_format
    ):
        return sp.triu(matrix).tocsc()
    indptr = matrix.indptr
    columns = np.repeat(np.arange(matrix.shape[1]), np.diff(indptr))
    kept = matrix.indices <= columns
    counts = np.bincount(columns[kept], minlength=matrix.shape[1])
    starts = np.concatenate(([0], np.cumsum(counts))).astype(indptr.dtype)
    return sp.csc_array((matrix.data[kept], matrix.indices[kept], starts), shape=matrix.shape)
