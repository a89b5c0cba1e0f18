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
import scipy.sparse as sp
import scipy.sparse.linalg as spla

SOLVED = 1e-12  # relative residual of the sparse solve below which its step is taken


def newton_step(
    parts: tuple[np.ndarray, np.ndarray],
    gradients: np.ndarray,
    free: np.ndarray,
    residual: np.ndarray,
) -> np.ndarray | None:
    """The step (Δw on ``free``, then Δλ) of the KKT system above, or None when the system is
    singular or the sparse solve is not accurate (the caller then has other means).

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
    diagonal, low_rank = parts
    size, rows, factors = len(free), gradients.shape[0], low_rank.shape[1]
    jacobian = sp.csc_array(gradients[:, free])
    loadings = sp.csc_array(low_rank[free])
    system = sp.block_array(
        [
            [sp.diags_array(diagonal[free]), loadings, jacobian.T],
            [loadings.T, -sp.eye_array(factors), None],
            [jacobian, None, sp.csc_array((rows, rows))],
        ],
        format="csc",
    )
    right = np.concatenate([-residual[:size], np.zeros(factors), -residual[size:]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", spla.MatrixRankWarning)
            solution = spla.splu(system).solve(right)
    except (RuntimeError, spla.MatrixRankWarning):
        return None  # exactly singular: a dependent active row, say
    if not np.all(np.isfinite(solution)):
        return None
    scale = max(float(np.max(np.abs(right), initial=0.0)), 1.0)
    if np.max(np.abs(system @ solution - right), initial=0.0) > SOLVED * scale:
        return None
    return np.concatenate([solution[:size], solution[size + factors :]])
