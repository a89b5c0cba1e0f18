"""Constraint attribution: the optimal portfolio as a reference portfolio plus one portfolio
per binding constraint, from the KKT conditions (Stubbs & Vandenbussche, "Constraint
Attribution", Axioma 2008).

At the optimum ``∇f(w*) + Σ_k c_k = 0``, with ``c_k = A_kᵀ g_k`` the part of stationarity of
binding constraint k. Let H be the objective's curvature and M its inverse on the null space
of the reference rows (M = H⁻¹ for the unconstrained reference; the reduced-Hessian inverse
Z(ZᵀHZ)⁻¹Zᵀ, Z spanning Σw = 0, for the budget-only one). Then

    w* = w_ref + Σ_k p_k,    w_ref = w* − M ∇f(w*),    p_k = −M c_k,

exactly: w_ref is the optimum of the objective's quadratic model at w* under the reference
rows alone (for a quadratic objective, of the objective itself: the unconstrained portfolio, or
the one that invests the same amount with no other limit), and p_k is the portfolio attributed
to constraint k. Any part of stationarity no piece takes (the solver's residual) is the last,
``residual`` piece, so the pieces always add up; it is reported, and tested to be ~1e-10.

Return, risk and the objective split the same way: μᵀp_k, Euler variance p_kᵀΣw*, and the
objective's rise ½ p_kᵀH(w* − w_ref) (they sum to f(w*) − f(w_ref), since the reference's
gradient is orthogonal to w* − w_ref).
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon.errors import InputError
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.report import explain
from portcon.report.attribution_pieces import (
    Curvature,
    Piece,
    UndefinedError,
    constraint_pieces,
    objective_terms,
    reduced_inverse,
)
from portcon.report.attribution_prices import attribution_multipliers
from portcon.report.attribution_result import (
    REFERENCE,
    RESIDUAL,
    RESIDUAL_LABEL,
    Attribution,
)
from portcon.sizing.objectives import (
    Proportional,
    SizingObjective,
    TieredDeviation,
    TieredTopSlice,
)
from portcon.sizing.risk_objectives import (
    MeanVariance,
    MinimumVariance,
    QuadraticKelly,
)
from portcon.sizing.wrapped import innermost

LEVELS = ("row", "limit")
REFERENCES = ("budget", "unconstrained")
BUDGET_RULE = "target_allocation"
DENSE_THREADS = 200  # from this many members, dense algebra runs on one BLAS thread
QUADRATIC = (Proportional, TieredDeviation, MinimumVariance, MeanVariance, QuadraticKelly)
REFERENCE_LABELS = {"unconstrained": "unconstrained", "budget": "budget only"}


@dataclass(frozen=True)
class Split:
    """The answer split: reference, pieces and residual, as columns over the members."""

    reference: np.ndarray
    pieces: np.ndarray  # members × pieces
    residual: np.ndarray
    curvature: Curvature


def constraint_attribution(
    program: Program,
    solution: Solution | None,
    binding: np.ndarray,
    assets: pd.Index,
    *,
    level: str = "row",
    reference: str = "budget",
    chosen_support: bool = False,
) -> Attribution:
    """The :class:`Attribution` of a solved program.

    Parameters
    ----------
    program, solution
        The program and its solution (None: nothing was solved).
    binding
        Per constraint row, in block order: the row is at its bound.
    assets
        Every asset of the universe, in input order (the holdings' rows).
    level
        ``"row"``: one piece per binding constraint row (``max_single_position[INDA]``);
        ``"limit"``: one per Limits entry (``max_single_position``, ``bucket_caps[Tech]``).
    reference
        ``"budget"`` (the objective's optimum investing the same amount with no other limit:
        the limits' pieces then move weight between names and sum to zero) or
        ``"unconstrained"`` (its optimum with no limit at all, Axioma's convention: the budget
        is then a piece, often a large one, since unconstrained mean-variance or Kelly
        portfolios are levered).
    chosen_support
        The answer's held set was chosen by the count rules (the pieces hold for it).

    Raises
    ------
    InputError
        For an unknown ``level`` or ``reference``.
    """
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if reference not in REFERENCES:
        raise InputError(f"reference must be one of {', '.join(REFERENCES)}, not {reference!r}")
    if solution is None or program.objective is None:
        return Attribution.empty(assets, reference, level, "nothing was solved")
    objective = program.objective
    solution, price_note = attribution_multipliers(solution, binding)
    kkt = explain.attribution(program, solution)
    pieces = constraint_pieces(program, solution, kkt, binding, level)
    gradient = kkt["sizing"].to_numpy(dtype=float)
    sizing, terms = objective_terms(objective, solution.weights, gradient)
    pieces += terms
    if reference == "budget":
        pieces = [piece for piece in pieces if piece.rule != BUDGET_RULE]
    with _one_blas_thread(len(solution.weights)):
        try:
            split = _split(program, solution, pieces, sizing, reference)
        except UndefinedError as why:
            return Attribution.empty(assets, reference, level, f"not derived: {why}")
        result = _result(program, solution, pieces, split, assets, reference, level, chosen_support)
    if price_note:
        note = f"{result.note}; {price_note}" if result.note else price_note
        result = dataclasses.replace(result, note=note)
    return result


def _one_blas_thread(size: int) -> AbstractContextManager[object]:
    """One BLAS thread for dense work on large books: on this 2-core machine a 1000 × 1000
    Cholesky took 1.0 s with the default two threads and 0.05 s with one (measured)."""
    if size < DENSE_THREADS:
        return nullcontext()
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=1, user_api="blas")


def _split(
    program: Program,
    solution: Solution,
    pieces: list[Piece],
    sizing: np.ndarray,
    reference: str,
) -> Split:
    """w_ref = w − M s, p_k = −M c_k and what is left, over the members."""
    weights = solution.weights
    curvature = Curvature.of(program.require_objective(), weights)
    rows = None
    if reference == "budget":
        rows = _budget_row(solution)
    inverse = reduced_inverse(curvature, rows)
    parts = (
        np.column_stack([piece.part for piece in pieces]) if pieces else np.zeros((len(weights), 0))
    )
    portfolios = -inverse(parts)
    reference_weights = weights - inverse(sizing)
    residual = weights - reference_weights - portfolios.sum(axis=1)
    return Split(reference_weights, portfolios, residual, curvature)


def _budget_row(solution: Solution) -> np.ndarray:
    for block in solution.blocks:
        if block.rule == BUDGET_RULE:
            return np.atleast_2d(block.gradients(solution.weights))
    raise UndefinedError("the program has no target_allocation row to take as the reference")


def _result(
    program: Program,
    solution: Solution,
    pieces: list[Piece],
    split: Split,
    assets: pd.Index,
    reference: str,
    level: str,
    chosen_support: bool,
) -> Attribution:
    labels = [REFERENCE_LABELS[reference], *(piece.label for piece in pieces), RESIDUAL_LABEL]
    columns = np.column_stack([split.reference, split.pieces, split.residual])
    holdings = np.zeros((len(assets), len(labels)))
    holdings[program.members] = columns
    implied = np.zeros_like(holdings)
    implied[program.members] = split.curvature.times(columns)
    frame = pd.DataFrame(holdings, index=assets, columns=pd.Index(labels, name="piece"))
    alpha = pd.DataFrame(implied, index=assets, columns=frame.columns)
    table = _table(program, solution, pieces, split, columns, labels)
    objective = program.require_objective()
    return Attribution(
        holdings=frame,
        table=table,
        implied_alpha=alpha,
        reference=reference,
        reference_meaning=_reference_meaning(
            reference, objective, float(split.reference.sum()), program.sizing.phrase
        ),
        objective_meaning=_objective_meaning(objective),
        note=_note(objective, chosen_support),
        level=level,
    )


def _table(
    program: Program,
    solution: Solution,
    pieces: list[Piece],
    split: Split,
    columns: np.ndarray,
    labels: list[str],
) -> pd.DataFrame:
    weights = solution.weights
    count = columns.shape[1]
    market = program.market
    expected = np.full(count, np.nan)
    if market.expected_returns is not None:
        expected = market.require_expected_returns() @ columns
    variance = np.full(count, np.nan)
    volatility = np.full(count, np.nan)
    if market.has_risk:
        exposures, specific = market.require_risk()
        risk_times = exposures @ (exposures.T @ weights) + specific**2 * weights
        variance = columns.T @ risk_times
        sigma = float(np.sqrt(max(float(weights @ risk_times), 0.0)))
        if sigma > 0:
            volatility = variance / sigma
    moved = weights - split.reference
    bent = split.curvature.times(moved)
    objective = 0.5 * (columns.T @ bent)
    inner = innermost(program.require_objective())
    objective[0] = inner.value(weights, 0.0) - 0.5 * float(moved @ bent)
    kinds = [REFERENCE, *(piece.kind for piece in pieces), RESIDUAL]
    return pd.DataFrame(
        {
            "kind": kinds,
            "category": [labels[0], *(piece.category for piece in pieces), RESIDUAL],
            "rule": ["", *(piece.rule for piece in pieces), ""],
            "subject": ["", *(piece.subject for piece in pieces), ""],
            "price": [np.nan, *(piece.price for piece in pieces), np.nan],
            "added": np.clip(columns, 0.0, None).sum(axis=0),
            "removed": np.clip(columns, None, 0.0).sum(axis=0),
            "expected_return": expected,
            "variance": variance,
            "volatility": volatility,
            "objective": objective,
        },
        index=pd.Index(labels, name="piece"),
    )


def _reference_meaning(
    reference: str, objective: SizingObjective, invested: float, phrase: str
) -> str:
    inner = innermost(objective)
    if reference == "budget" and isinstance(inner, Proportional):
        return (
            f"each eligible name's {phrase} of the invested {100 * invested:.2f}% (the optimum "
            "with the budget alone)"
        )
    model = "" if isinstance(inner, QUADRATIC) else " of its quadratic model at the answer"
    if reference == "unconstrained":
        return f"the optimum of the sizing objective{model} with no limit at all"
    return (
        f"the optimum of the sizing objective{model} investing the same {100 * invested:.2f}% "
        "with no other limit"
    )


def _objective_meaning(objective: SizingObjective) -> str:
    inner = innermost(objective)
    return (
        f"{inner.describe()}; the reference's row is its value there, a constraint's row what "
        "the constraint added to it"
    )


def _note(objective: SizingObjective, chosen_support: bool) -> str:
    notes = []
    inner = innermost(objective)
    if isinstance(inner, TieredTopSlice):
        notes.append(
            "top slice is linear above the raw sizes: its curvature is taken as that of the "
            "raw-size distance ½(w − raw)²/raw"
        )
    elif not isinstance(inner, QUADRATIC):
        notes.append(
            "the objective is not quadratic: the reference is the optimum of its quadratic model "
            "at the answer, and the objective column splits that model"
        )
    if inner is not objective:
        notes.append(
            "terms added to the sizing objective (trading costs, regularisation) are pieces of "
            "their own; the objective column is the sizing objective without them"
        )
    if chosen_support:
        notes.append(
            "for the chosen support: the count rules' choice of held names is taken as given, "
            "and each left-out name's row is priced as a count piece"
        )
    return "; ".join(notes)
