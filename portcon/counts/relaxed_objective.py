"""The sizing objective of the relaxed perspective program (:mod:`portcon.counts.perspective`).

The mixed-integer model's ``perspective()`` methods put their data in as constants (a one-off
model). The pooled relaxed program needs every number as a DPP Parameter, and its objective
divided by a data-derived scale (so a program in daily units, objective ~1e-4, is solved as
accurately as one in annual units: a cone t ≥ v²/z with t ≪ z is only as exact as the solver's
absolute feasibility tolerance). So each supported objective names the Parameters it reads and
how each scales: a ``ROOT`` Parameter enters squared (divided by √scale), a ``LINEAR`` one
enters once (divided by scale). The separable squares are written on the scaled weights
v = s∘w, t_i ≥ v_i²/z_i.
"""

from __future__ import annotations

from collections.abc import Callable

import cvxpy as cp
import numpy as np

from portcon.constraints.base import RISK_EXPOSURES, RISK_SPECIFIC, ModelContext
from portcon.sizing.objectives import Proportional, SizingObjective, TieredDeviation
from portcon.sizing.risk_objectives import MaxSharpe, MeanVariance, MinimumVariance, QuadraticKelly

ROOT, LINEAR = "root", "linear"
UNIT = "unit"  # 1 / scale, for terms without a Parameter of their own
PREFIX = "objective."

TERMS: dict[str, dict[str, str]] = {
    "proportional": {"sizing.scale": ROOT, "sizing.cash_penalty": LINEAR},
    "tiered_deviation": {"sizing.scale": ROOT},
    "minimum_variance": {RISK_SPECIFIC: ROOT, RISK_EXPOSURES: ROOT, "sizing.cash_penalty": LINEAR},
    "mean_variance": {
        "sizing.risk_specific": ROOT,
        "sizing.risk_exposures": ROOT,
        "sizing.mu": LINEAR,
        "sizing.cash_penalty": LINEAR,
    },
    "quadratic_kelly": {
        "sizing.risk_specific": ROOT,
        "sizing.risk_exposures": ROOT,
        "sizing.mu": LINEAR,
    },
}


def form(objective: SizingObjective) -> str | None:
    """The relaxed form that states ``objective`` (None: none does — wrappers that add terms,
    max_sharpe and max_diversification, whose γ* depends on the support, and the rest)."""
    if isinstance(objective, Proportional):
        return "proportional"
    if isinstance(objective, TieredDeviation):
        return "tiered_deviation"
    if isinstance(objective, MinimumVariance):
        return "minimum_variance"
    if isinstance(objective, MeanVariance) and not isinstance(objective, MaxSharpe):
        return "mean_variance"
    if isinstance(objective, QuadraticKelly):
        return "quadratic_kelly"
    return None


def values(
    objective: SizingObjective, parameters: dict[str, float | np.ndarray], scale: float
) -> dict[str, float | np.ndarray]:
    """The objective's Parameter values for the relaxed program, divided by ``scale``.

    ``parameters`` are the program's (:meth:`Program.parameters`).
    """
    name = form(objective)
    if name is None:
        raise RuntimeError(f"no relaxed form for {type(objective).__name__}; a bug")
    out: dict[str, float | np.ndarray] = {PREFIX + UNIT: 1.0 / scale}
    for key, kind in TERMS[name].items():
        divisor = np.sqrt(scale) if kind == ROOT else scale
        out[PREFIX + key] = np.asarray(parameters[key], dtype=float) / divisor
    return out


def constant(objective: SizingObjective) -> float:
    """The constant term the relaxed objective leaves out, unscaled (½ Σ r, tiered deviation)."""
    if isinstance(objective, TieredDeviation):
        return float(0.5 * objective.raw.sum())
    return 0.0


def expression(
    objective: SizingObjective,
    ctx: ModelContext,
    held: cp.Variable,
    parameter: Callable[[str], cp.Parameter],
) -> tuple[cp.Expression, list[cp.Constraint]]:
    """``objective`` / scale with its separable squares in perspective form (DPP).

    ``parameter(name)`` is the relaxed program's Parameter ``PREFIX + name`` (the program
    Parameter ``name`` divided as :func:`values` says; ``UNIT`` is 1 / scale). Every N-long
    linear term (Σ t, μᵀw, Σ w) enters the objective as a scalar variable fixed by a row
    (:func:`scalar`): the same program, without cvxpy's dense objective coefficients.
    """
    name = form(objective)
    p, w = parameter, ctx.weights
    if name in ("proportional", "tiered_deviation"):
        squares, cone = perspective_sum(cp.multiply(p("sizing.scale"), w), held)
        if name == "tiered_deviation":  # ½ (w − r)²/r = ½ w²/r − w + ½ r
            invested, row = scalar(cp.sum(w))
            return 0.5 * squares - p(UNIT) * invested, [*cone, row]
        return 0.5 * squares + p("sizing.cash_penalty") * ctx.cash, cone
    if name == "minimum_variance":
        squares, cone = perspective_sum(cp.multiply(p(RISK_SPECIFIC), w), held)
        factor = cp.sum_squares(p(RISK_EXPOSURES).T @ w)
        return 0.5 * (factor + squares) + p("sizing.cash_penalty") * ctx.cash, cone
    if name in ("mean_variance", "quadratic_kelly"):
        squares, cone = perspective_sum(cp.multiply(p("sizing.risk_specific"), w), held)
        risk = cp.sum_squares(p("sizing.risk_exposures").T @ w) + squares
        gain, row = scalar(p("sizing.mu") @ w)
        cone = [*cone, row]
        if name == "mean_variance":
            return -gain + risk + p("sizing.cash_penalty") * ctx.cash, cone
        return -gain + risk, cone
    raise RuntimeError(f"no relaxed form for {type(objective).__name__}; a bug")


def scalar(term: cp.Expression) -> tuple[cp.Variable, cp.Constraint]:
    """``term`` as a scalar variable v with the row v = ``term``.

    cvxpy's DPP compilation stores the objective's linear coefficients as a dense matrix of
    (variables in the objective) × (every Parameter entry of the problem): with an N-long
    linear term in the objective, N × (N k + …) numbers (776 MB at N = 1000 with 10 factors).
    With v in the objective it is one row; the row v = term is stored sparse. As
    :func:`portcon.sizing.risk_objectives._linear_term` does on the convex path.
    """
    value = cp.Variable()
    return value, value == term


def perspective_sum(
    scaled: cp.Expression, held: cp.Variable
) -> tuple[cp.Variable, list[cp.Constraint]]:
    """Σ t with t_i ≥ v_i² / z_i for v = ``scaled`` (rotated cones ‖(2v, t − z)‖ ≤ t + z),
    as a scalar variable (:func:`scalar`)."""
    squares = cp.Variable(held.shape[0], nonneg=True, name="perspective")
    cone = cp.SOC(squares + held, cp.vstack([2 * scaled, squares - held]), axis=0)
    total, row = scalar(cp.sum(squares))
    return total, [cone, row]
