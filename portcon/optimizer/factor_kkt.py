"""Newton steps of the polish for a Hessian diag(d) + V Vᵀ, solved sparse.

The polish solves, on the free weights f and the active general rows J,

    [H_ff  J_fᵀ] [Δw]   [−r_w]
    [J_f   0   ] [Δλ] = [−r_g]

With a factor-model objective H = diag(d) + V Vᵀ (V assets × k). Writing y = V_fᵀ Δw gives an
equivalent system with no N × N block,

    [diag(d_f)  V_f   J_fᵀ] [Δw]   [−r_w]
    [V_fᵀ       −I    0   ] [y ] = [ 0  ]
    [J_f        0     0   ] [Δλ]   [−r_g]

of size f + k + rows and f (k + rows + 1) nonzeros, which a sparse LU solves in milliseconds
where the dense system costs O(N³) (~0.15 s at N = 1500 on this machine).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

SOLVED = 1e-12  # relative residual of the sparse solve below which its step is taken
RANK = 1e-10  # a row whose QR pivot is below this share of the largest is dependent


def newton_step(
    parts: tuple[np.ndarray, np.ndarray],
    gradients: np.ndarray,
    free: np.ndarray,
    residual: np.ndarray,
) -> np.ndarray | None:
    """The step (Δw on ``free``, then Δλ) of the KKT system above, or None when Δw is not
    unique or the sparse solve is not accurate (the caller then has other means).

    Dependent active rows (a bucket row equal to the budget row on the free weights) leave Δλ
    free along the null space of J_fᵀ; the step then takes the least-norm Δλ, as numpy's
    lstsq on the dense system does: solved on independent rows, then Δλ = (J_fᵀ)⁺ J_Rᵀ Δλ_R.

    Parameters
    ----------
    parts
        (d, V): the Hessian is diag(d) + V Vᵀ, d per asset and V assets × k.
    gradients
        The active general rows' gradients (rows × assets).
    free
        Positions of the weights not fixed at a bound.
    residual
        Stationarity on the free weights, then the rows' gaps.
    """
    size = len(free)
    jacobian = gradients[:, free]
    independent = _independent_rows(jacobian)
    kept = np.concatenate([np.arange(size), size + independent])
    step = _solve(parts, free, jacobian[independent], residual[kept])
    if step is None:
        return None
    move, prices = step[:size], step[size:]
    if len(independent) < len(jacobian):
        prices = np.linalg.lstsq(jacobian.T, jacobian[independent].T @ prices, rcond=None)[0]
    full = np.concatenate([move, prices])
    if _unsolved(parts, free, jacobian, full, residual):
        return None  # dependent rows with inconsistent gaps: no exact step
    return full


def _solve(
    parts: tuple[np.ndarray, np.ndarray],
    free: np.ndarray,
    jacobian: np.ndarray,
    residual: np.ndarray,
) -> np.ndarray | None:
    """The augmented sparse system for independent rows, or None if singular or inaccurate."""
    diagonal, low_rank = parts
    size, rows, factors = len(free), jacobian.shape[0], low_rank.shape[1]
    rows_matrix = sp.csc_array(jacobian)
    loadings = sp.csc_array(low_rank[free])
    system = sp.block_array(
        [
            [sp.diags_array(diagonal[free]), loadings, rows_matrix.T],
            [loadings.T, -sp.eye_array(factors), None],
            [rows_matrix, None, sp.csc_array((rows, rows))],
        ],
        format="csc",
    )
    right = np.concatenate([-residual[:size], np.zeros(factors), -residual[size:]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", spla.MatrixRankWarning)
            solution = spla.splu(system).solve(right)
    except (RuntimeError, spla.MatrixRankWarning):
        return None  # exactly singular: Δw is not unique
    if not np.all(np.isfinite(solution)):
        return None
    scale = max(float(np.max(np.abs(right), initial=0.0)), 1.0)
    if np.max(np.abs(system @ solution - right), initial=0.0) > SOLVED * scale:
        return None
    return np.concatenate([solution[:size], solution[size + factors :]])


def _independent_rows(jacobian: np.ndarray) -> np.ndarray:
    """Positions of a maximal set of linearly independent rows (QR with column pivoting)."""
    if jacobian.shape[0] == 0:
        return np.arange(0)
    _, triangle, order = scipy.linalg.qr(jacobian.T, mode="economic", pivoting=True)
    magnitudes = np.abs(np.diag(triangle))
    rank = int(np.sum(magnitudes > RANK * max(float(magnitudes[0]), 1e-300)))
    return np.sort(order[:rank])


def _unsolved(
    parts: tuple[np.ndarray, np.ndarray],
    free: np.ndarray,
    jacobian: np.ndarray,
    step: np.ndarray,
    residual: np.ndarray,
) -> bool:
    """True when ``step`` does not solve the whole (all rows) KKT system to SOLVED."""
    diagonal, low_rank = parts
    size = len(free)
    move, prices = step[:size], step[size:]
    loadings = low_rank[free]
    stationarity = diagonal[free] * move + loadings @ (loadings.T @ move) + jacobian.T @ prices
    gaps = jacobian @ move
    error = np.concatenate([stationarity + residual[:size], gaps + residual[size:]])
    scale = max(float(np.max(np.abs(residual), initial=0.0)), 1.0)
    return bool(np.max(np.abs(error), initial=0.0) > SOLVED * scale)
