"""The objective vector of a re-bound DPP conic program, computed without scipy's overhead.

cvxpy (1.9) rebuilds a pooled model's solver data on every solve from its parametrised
tensors: ``ParamConeProg.apply_parameters``. For the objective's linear part it turns the
parameter vector into a sparse column, multiplies two sparse matrices, reshapes and slices
the product and makes it dense again: ~1.3 ms at N = 500 of the ~1.6 ms the whole data
takes, for a vector of N numbers. Here the same product is one sparse-matrix times
dense-vector product. Both sum each entry's terms in the tensor's stored order starting from
0, and a term whose parameter is 0 adds a zero, so the numbers are the same bits (tested
against cvxpy's own path on re-bound programs). The constraint matrix is read off the same
product without cvxpy's intermediate sparse copies; the quadratic part still comes from
cvxpy.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from cvxpy.cvxcore.python import canonInterface
from cvxpy.reductions.dcp2cone.cone_matrix_stuffing import ParamConeProg


def install(problem: cp.Problem) -> None:
    """Give the problem's compiled DPP program (after its first solve) the faster objective.

    Anything but a plain parametrised conic program (no variable bounds) is left as it is.
    """
    program = getattr(problem._cache, "param_prog", None)
    if type(program) is not ParamConeProg or "apply_parameters" in vars(program):
        return
    if program.lb_tensor is not None or program.ub_tensor is not None:
        return
    program.apply_parameters = functools.partial(apply_parameters, program)  # type: ignore[method-assign]


def apply_parameters(
    program: ParamConeProg,
    id_to_param_value: Any = None,
    zero_offset: bool = False,
    keep_zeros: bool = False,
    quad_obj: bool = False,
) -> tuple[Any, ...]:
    """``ParamConeProg.apply_parameters`` with the objective vector from a dense product.

    The calls cvxpy makes when solving (current parameter values, no zeroed offset) take the
    fast path; any other call is passed to cvxpy's own method.
    """
    usual = ParamConeProg.apply_parameters
    if id_to_param_value is not None or zero_offset or program.total_param_size == 0:
        return usual(program, id_to_param_value, zero_offset, keep_zeros, quad_obj)
    program.reduced_A.cache(keep_zeros)
    parameters = canonInterface.get_parameter_vector(
        program.total_param_size,
        program.param_id_to_col,
        program.param_id_to_size,
        lambda key: np.array(program.id_to_param[key].value),
    )
    q, d = objective_vector(program.q, parameters, program.x.size)
    rows, b = constraint_data(program.reduced_A, parameters)
    if quad_obj:
        program.reduced_P.cache(keep_zeros)
        quadratic = _quadratic(program, parameters, keep_zeros)
        return quadratic, q, d, rows, np.atleast_1d(b)
    return q, d, rows, np.atleast_1d(b)


def _quadratic(program: ParamConeProg, parameters: np.ndarray, keep_zeros: bool) -> Any:
    """P as cvxpy gives it. When P's tensor reads no Parameter, only its constant column (the
    parameter vector's last entry, always 1), every solve gives the same matrix: it is made
    once per program (and ``keep_zeros``) and handed out as a copy (~45 µs at N = 500)."""
    reduced = program.reduced_P
    kept = _CONSTANT_P.setdefault(program, {})
    if keep_zeros not in kept:
        quadratic, _ = reduced.get_matrix_from_tensor(parameters, with_offset=False)
        columns = sp.coo_array(reduced.reduced_mat).coords[-1]  # type: ignore[call-overload]
        constant = bool(np.all(columns == program.total_param_size))
        kept[keep_zeros] = quadratic.copy() if constant else None
        return quadratic
    if kept[keep_zeros] is None:
        quadratic, _ = reduced.get_matrix_from_tensor(parameters, with_offset=False)
        return quadratic
    return kept[keep_zeros].copy()


# P of each program whose P reads no Parameter (None: it reads some), per keep_zeros
_CONSTANT_P: weakref.WeakKeyDictionary[ParamConeProg, dict[bool, Any]] = weakref.WeakKeyDictionary()


def constraint_data(reduced: Any, parameters: np.ndarray) -> tuple[Any, np.ndarray]:
    """The constraint matrix A and right-hand side b, as cvxpy gives them.

    cvxpy's product ``reduced_mat @ parameters`` gives every stored entry of [A b] in CSC
    order (one entry per row of the tensor, so no duplicates); cvxpy then builds the matrix,
    slices A off it and densifies b's column. Here A is the leading entries and b is
    scattered from the last column's: the same numbers without two sparse copies.
    """
    if reduced.problem_data_index is None or reduced.mapping_nonzero is not None:
        return reduced.get_matrix_from_tensor(parameters, with_offset=True)
    indices, indptr, (height, width) = reduced.problem_data_index
    flat = reduced.reduced_mat @ parameters
    end = int(indptr[-2])
    matrix = sp.csc_array(
        (flat[:end].copy(), indices[:end].copy(), indptr[:-1].copy()), shape=(height, width - 1)
    )
    column = np.zeros(height)
    column[indices[end:]] = flat[end:]
    return matrix, np.squeeze(column)


def objective_vector(
    tensor: Any, parameters: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The objective's coefficients (``size`` of them) and its constant, as cvxpy gives them:
    a float vector and a 0-d array."""
    flat = np.asarray(tensor @ parameters, dtype=float).ravel()
    if flat.shape != (size + 1,):
        raise RuntimeError(f"objective tensor of {flat.shape} rows for {size} variables")
    return flat[:-1].copy(), np.squeeze(flat[-1:].copy())
