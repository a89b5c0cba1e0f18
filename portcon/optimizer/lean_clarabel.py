"""Clarabel through cvxpy with second-order-cone rows reordered by a row gather, not a product.

cvxpy's :meth:`ConicSolver.format_constraints` interleaves each SOC's rows (t with its x) by
multiplying a permutation matrix with the problem's parametric A tensor reshaped to
(rows) × ((variables + 1) · (Parameter entries + 1)) columns. SciPy's sparse product keeps
workspace per *column* of its result, so a DPP program with SOC rows pays
(variables + 1) · (Parameter entries + 1) · ~12 bytes once, whatever its sparsity: the
perspective relaxation of :mod:`portcon.counts.perspective` (~3N variables, ~16N Parameter
entries with a 10-factor model) asked 776 MB at N = 1000 and ~3 GB at N = 2000. Here the same
permutation is applied by indexing rows (work and memory in the non-zeros), which gives the
same matrix: each row of the product is one row of A times 1, and the product drops explicit
zeros, so the gather drops them too. Programs with other cones go through cvxpy's own code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from cvxpy.constraints import SOC, NonNeg, Zero
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL
from cvxpy.reductions.solvers.conic_solvers.conic_solver import (
    ConicSolver,
    IdentityOperator,
    LinearOperator,
    NegativeIdentityOperator,
    as_block_diag_linear_operator,
)

NAME = "PORTCON_LEAN_CLARABEL"


class LeanClarabel(CLARABEL):
    """cvxpy's Clarabel interface with :func:`soc_rows` for SOC rows; everything else as is."""

    def name(self) -> str:
        return NAME

    @classmethod
    def format_constraints(cls, problem: Any, exp_cone_order: Any) -> Any:
        """cvxpy's :meth:`ConicSolver.format_constraints`, the SOC permutation as a gather."""
        if not all(type(c) in (Zero, NonNeg, SOC) for c in problem.constraints):
            return super().format_constraints(problem, exp_cone_order)
        if not problem.constraints:
            return super().format_constraints(problem, exp_cone_order)
        blocks: list[LinearOperator] = []
        for constraint in problem.constraints:
            if type(constraint) is Zero:
                blocks.append(NegativeIdentityOperator(constraint.size))
            elif type(constraint) is NonNeg:
                blocks.append(IdentityOperator(constraint.size))
            else:
                order = soc_rows(constraint)
                blocks.append(LinearOperator(_gather(order), (len(order), len(order))))
        restructure = as_block_diag_linear_operator(blocks)
        columns, _ = np.divmod(
            problem.A.shape[0] * problem.A.shape[1], restructure.shape[1], dtype=np.int64
        )
        reshaped = problem.A.reshape(restructure.shape[1], columns, order="F").tocsr()
        restructured = restructure(reshaped).tocoo()
        restructured.row = restructured.row.astype(np.int64)
        restructured.col = restructured.col.astype(np.int64)
        restructured = restructured.reshape(
            np.int64(restructure.shape[0]) * (np.int64(problem.x.size) + 1),
            problem.A.shape[1],
            order="F",
        )
        return type(problem)(
            problem.q,
            problem.x,
            restructured,
            problem.variables,
            problem.var_id_to_col,
            problem.constraints,
            problem.parameters,
            problem.param_id_to_col,
            P=problem.P,
            formatted=True,
            lower_bounds=problem.lower_bounds,
            upper_bounds=problem.upper_bounds,
            lb_tensor=problem.lb_tensor,
            ub_tensor=problem.ub_tensor,
            dir_cones=problem.dir_cones,
        )


def soc_rows(constraint: SOC) -> np.ndarray:
    """Row k of cvxpy's SOC restructuring matrix takes row ``order[k]`` of the constraint's
    stacked arguments (t, X): each cone's t, then its x (cvxpy's spacing matrices, read off)."""
    height = sum(arg.size for arg in constraint.args)
    x_dim = constraint.args[1].shape[0] if constraint.args[1].shape else 1
    cones = constraint.args[0].size
    t_spacer = ConicSolver.get_spacing_matrix(
        shape=(height, cones), spacing=x_dim, streak=1, num_blocks=cones, offset=0
    )
    x_spacer = ConicSolver.get_spacing_matrix(
        shape=(height, constraint.args[1].size),
        spacing=1,
        streak=x_dim,
        num_blocks=cones,
        offset=1,
    )
    permutation = sp.hstack([t_spacer, x_spacer]).tocsr()
    if (
        permutation.shape != (height, height)
        or not np.array_equal(np.diff(permutation.indptr), np.ones(height))
        or not np.all(permutation.data == 1.0)
        or not np.array_equal(np.sort(permutation.indices), np.arange(height))
    ):
        raise RuntimeError("cvxpy's SOC restructuring is not a permutation here; a bug")
    return np.asarray(permutation.indices, dtype=np.int64)


def _gather(order: np.ndarray) -> Any:
    """X ↦ X[order] with explicit zeros dropped (what the permutation's product gives)."""

    def gather(rows: Any) -> Any:
        taken = rows.tocsr()[order]
        taken.eliminate_zeros()
        return taken

    return gather


SOLVER = LeanClarabel()
