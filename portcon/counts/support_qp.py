"""A program's convex problem on one support, as a small dense QP solved by Clarabel directly.

The local search over supports (:mod:`portcon.counts.local_search`) values thousands of
supports. Through cvxpy each costs a re-bind and a solve of the whole program (tens of ms at
N = 500); restricted to its |S| held members the problem is a QP with |S| (+ cash) variables:
the objective's quadratic part is c·(‖G_Sᵀw‖² + ‖d_S∘w‖²) from the factor form (never an
N×N matrix), and only the linear rows that touch S remain. Built once per program, each
support costs a column slice and one Clarabel call (~0.3–1 ms).

This is a candidate generator only: the support the count step returns is re-valued on the
program itself (:func:`portcon.counts.heuristic.support_value`).
"""

from __future__ import annotations

from dataclasses import dataclass

import clarabel
import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RISK_EXPOSURES, RISK_SPECIFIC, RowBlock, Sense
from portcon.counts import relaxed_objective
from portcon.counts.rules import Counts
from portcon.optimizer.program import Program

ROW_ROOM = 1e-9  # a row with no held member must hold at zero weight to within this


@dataclass(frozen=True)
class Quadratic:
    """objective(w, cash) = factor_coef·(‖Gᵀw‖² + ‖d∘w‖²) − gainᵀw + penalty·cash + constant."""

    exposures: np.ndarray | None
    specific: np.ndarray
    coefficient: float
    gain: np.ndarray
    penalty: float
    constant: float


@dataclass(frozen=True)
class SupportValue:
    """A support's optimum: objective, weights on the support (in its order), cash, and the
    reduced cost of adding each member (first-order change of the objective per unit)."""

    objective: float
    weights: np.ndarray
    cash: float
    reduced: np.ndarray


def quadratic_form(program: Program) -> Quadratic | None:
    """The program's objective in factor form, or None when it is not a plain quadratic."""
    objective = program.objective
    if objective is None or _refines(program):
        return None
    name = relaxed_objective.form(objective)
    if name is None:
        return None
    values = program.parameters()
    size = len(program.members)
    zero = np.zeros(size)

    def read(key: str) -> np.ndarray:
        return np.asarray(values[key], dtype=float)

    penalty = float(values.get("sizing.cash_penalty", 0.0))
    constant = relaxed_objective.constant(objective)
    if name in ("proportional", "tiered_deviation"):
        gain = np.ones(size) if name == "tiered_deviation" else zero
        return Quadratic(None, read("sizing.scale"), 0.5, gain, penalty, constant)
    if name == "minimum_variance":
        return Quadratic(read(RISK_EXPOSURES), read(RISK_SPECIFIC), 0.5, zero, penalty, 0.0)
    exposures, specific = read("sizing.risk_exposures"), read("sizing.risk_specific")
    return Quadratic(exposures, specific, 1.0, read("sizing.mu"), penalty, 0.0)


def _refines(program: Program) -> bool:
    from portcon.sizing.modes import Sizing

    return type(program.sizing).refine is not Sizing.refine


@dataclass(frozen=True)
class _Rows:
    matrix: sp.csc_array  # every linear row over the members
    lower: np.ndarray  # −inf where none
    upper: np.ndarray  # +inf where none
    cash: np.ndarray  # True where the row includes cash


class SupportQP:
    """The program restricted to any support, solved as a small QP."""

    def __init__(self, program: Program, counts: Counts, quadratic: Quadratic, scale: float):
        self.quadratic = quadratic
        self.floors = counts.lower
        self.scale = max(abs(scale), 1e-12)  # the objective is solved divided by this
        self.rows = _linear_rows(program)
        self.uses_cash = bool(self.rows.cash.any())
        self.solves = 0
        curvature = quadratic.specific**2
        if quadratic.exposures is not None:
            curvature = curvature + np.sum(quadratic.exposures**2, axis=1)
        self.curvature = 2.0 * quadratic.coefficient * curvature  # the Hessian's diagonal

    def value(self, support: np.ndarray) -> SupportValue | None:
        """The optimum on ``support`` (member positions), None when it has no feasible weights."""
        support = np.asarray(support, dtype=int)
        rows, q = self.rows, self.quadratic
        matrix = sp.csr_array(rows.matrix[:, support])
        touched = (np.diff(matrix.indptr) > 0) | rows.cash
        empty = ~touched
        if np.any(rows.lower[empty] > ROW_ROOM) or np.any(rows.upper[empty] < -ROW_ROOM):
            return None
        matrix, lower, upper = matrix[touched], rows.lower[touched], rows.upper[touched]
        cash_column = rows.cash[touched].astype(float)
        size = len(support)
        width = size + (1 if self.uses_cash else 0)
        hessian = np.diag(q.specific[support] ** 2)
        if q.exposures is not None:
            factor = q.exposures[support]
            hessian = hessian + factor @ factor.T
        hessian = 2.0 * q.coefficient * hessian / self.scale
        if self.uses_cash:
            hessian = np.pad(hessian, ((0, 1), (0, 1)))
            matrix = sp.hstack([matrix, sp.csr_array(cash_column[:, None])], format="csr")
        linear = np.concatenate([-q.gain[support], [q.penalty] if self.uses_cash else []])
        linear = linear / self.scale
        equal = lower == upper
        has_upper = ~equal & np.isfinite(upper)
        has_lower = ~equal & np.isfinite(lower)
        bounds_matrix = -sp.eye_array(width, format="csr")
        floor = np.concatenate([self.floors[support], [0.0] if self.uses_cash else []])
        stacked = sp.vstack(
            [matrix[equal], matrix[has_upper], -matrix[has_lower], bounds_matrix], format="csc"
        )
        rhs = np.concatenate([upper[equal], upper[has_upper], -lower[has_lower], -floor])
        cones = [
            clarabel.ZeroConeT(int(equal.sum())),
            clarabel.NonnegativeConeT(int(has_upper.sum() + has_lower.sum() + width)),
        ]
        if not equal.any():
            cones = cones[1:]
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        solver = clarabel.DefaultSolver(
            sp.csc_array(np.triu(hessian)), linear, stacked, rhs, cones, settings
        )
        solution = solver.solve()
        self.solves += 1
        if str(solution.status) not in ("Solved", "AlmostSolved"):
            return None
        x = np.asarray(solution.x)
        duals = np.asarray(solution.z)
        weights = x[:size]
        cash = float(x[size]) if self.uses_cash else 0.0
        objective = float(solution.obj_val) * self.scale + q.constant
        multipliers = _row_multipliers(duals, equal, has_upper, has_lower, touched)
        return SupportValue(objective, weights, cash, self._reduced(support, weights, multipliers))

    def _reduced(
        self, support: np.ndarray, weights: np.ndarray, multipliers: np.ndarray
    ) -> np.ndarray:
        """∂objective/∂w_j at the support's optimum, with the row prices: for a member outside
        the support, negative means that holding it would lower the objective."""
        q = self.quadratic
        full = np.zeros(len(q.specific))
        full[support] = weights
        gradient = 2.0 * q.coefficient * (q.specific**2 * full) - q.gain
        if q.exposures is not None:
            gradient += 2.0 * q.coefficient * (q.exposures @ (q.exposures[support].T @ weights))
        return gradient + self.scale * (self.rows.matrix.T @ multipliers)


def _row_multipliers(
    duals: np.ndarray,
    equal: np.ndarray,
    has_upper: np.ndarray,
    has_lower: np.ndarray,
    touched: np.ndarray,
) -> np.ndarray:
    """Clarabel's duals (Px + q + Aᵀz = 0) mapped back to one multiplier per linear row."""
    count_eq, count_up = int(equal.sum()), int(has_upper.sum())
    per_touched = np.zeros(len(equal))
    per_touched[equal] = duals[:count_eq]
    per_touched[has_upper] += duals[count_eq : count_eq + count_up]
    per_touched[has_lower] -= duals[count_eq + count_up : count_eq + count_up + has_lower.sum()]
    out = np.zeros(len(touched))
    out[touched] = per_touched
    return out


def _linear_rows(program: Program) -> _Rows:
    """Every row of the program as lower ≤ A w (+ cash) ≤ upper."""
    values = program.parameters()
    size = len(program.members)
    matrices, lowers, uppers, cash = [], [], [], []
    for block in program.blocks:
        if not isinstance(block, RowBlock):
            raise ValueError(f"{type(block).__name__} is not a linear row block")
        bound = block.bound_values(values)
        infinite = np.full(block.rows, np.inf)
        matrices.append(sp.csr_array(block.coefficients))
        lowers.append(-infinite if block.sense == Sense.LE else bound)
        uppers.append(infinite if block.sense == Sense.GE else bound)
        cash.append(np.full(block.rows, block.includes_cash))
    if not matrices:
        return _Rows(sp.csc_array((0, size)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    return _Rows(
        sp.csc_array(sp.vstack(matrices)),
        np.concatenate(lowers),
        np.concatenate(uppers),
        np.concatenate(cash),
    )


def support_qp(program: Program, counts: Counts, scale: float) -> SupportQP | None:
    """The small-QP form of ``program``, or None where it does not apply: objectives that are
    not a plain quadratic or re-derive per support, nonlinear rows, shorts, bucket overrides."""
    if counts.short is not None or counts.overrides_possible:
        return None
    quadratic = quadratic_form(program)
    if quadratic is None:
        return None
    try:
        return SupportQP(program, counts, quadratic, scale)
    except ValueError:
        return None
