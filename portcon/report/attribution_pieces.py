"""The pieces of a constraint attribution: each binding row's (or limit's) part of the KKT
stationarity identity, and the objective's own curvature.

At the optimum ``∇f(w) + Σ_k c_k = 0`` with ``c_k = A_kᵀ g_k`` the part of constraint row k
(:func:`portcon.report.explain.attribution` gives the same parts summed per rule). This module
splits them per row or per limit and names them; :mod:`portcon.report.attribution` turns them
into portfolios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from portcon._text import listing
from portcon.constraints.base import Block
from portcon.constraints.keys import LimitKey
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.report.attribution_result import CONSTRAINT, OBJECTIVE_TERM, category
from portcon.sizing.objectives import (
    Proportional,
    SizingObjective,
    TieredDeviation,
    TieredTopSlice,
)
from portcon.sizing.wrapped import AddedTerms, innermost

PRICED = 1e-12  # a multiplier at most this is no price: the row's part is left to the residual


class UndefinedError(Exception):
    """The decomposition is not defined for this answer (the message says why)."""


@dataclass(frozen=True, eq=False)
class Piece:
    """One binding constraint (a row, or every row of one limit): its part of stationarity."""

    label: str
    rule: str
    subject: str
    category: str
    price: float
    part: np.ndarray
    kind: str = CONSTRAINT


def constraint_pieces(
    program: Program, solution: Solution, kkt: pd.DataFrame, binding: np.ndarray, level: str
) -> list[Piece]:
    """The binding, priced rows' parts of stationarity, one piece per row (``level="row"``)
    or per limit entry (``"limit"``: ``bucket_caps[Tech]``, ``max_single_position``).

    ``kkt`` is :func:`portcon.report.explain.attribution`'s frame: a nonsmooth row (turnover)
    takes the part it gives there, where its kink is resolved.
    """
    pieces: dict[str, Piece] = {}
    offset = 0
    for k, (block, prices) in enumerate(zip(solution.blocks, solution.multipliers, strict=True)):
        rows = np.flatnonzero(binding[offset : offset + block.rows] & (np.abs(prices) > PRICED))
        offset += block.rows
        groups: dict[str, list[int]] = {}
        for row in rows:
            groups.setdefault(_label(block, int(row), level), []).append(int(row))
        for label, members in groups.items():
            piece = Piece(
                label=label,
                rule=block.rule,
                subject=_subject(block, members),
                category=category(block.rule, block.parameter),
                price=_price(block, prices, members, level),
                part=_part(solution, kkt, k, members),
            )
            if label in pieces and level == "limit":  # one limit over several blocks
                earlier = pieces[label]
                piece = replace(
                    earlier, price=earlier.price + piece.price, part=earlier.part + piece.part
                )
            elif label in pieces:
                label = f"{label} ({block.sense})"
                piece = replace(piece, label=label)
            pieces[label] = piece
    return list(pieces.values())


def _row_key(block: Block, row: int) -> LimitKey | None:
    """The Limits entry that moves this row's bound (the rule's own field), if any."""
    for key, rates in block.bound_derivatives.items():
        if key.field == block.rule and abs(float(np.asarray(rates)[row])) > 0:
            return key
    return None


def _label(block: Block, row: int, level: str) -> str:
    key = _row_key(block, row)
    if level == "limit":
        return block.rule if key is None else str(key)
    subject = block.subjects[row]
    if key is not None and key.name is not None:
        return str(key)
    return block.rule if subject == "portfolio" else f"{block.rule}[{subject}]"


def _subject(block: Block, rows: list[int]) -> str:
    subjects = [block.subjects[row] for row in rows]
    return subjects[0] if len(subjects) == 1 else listing(subjects, limit=3)


def _price(block: Block, prices: np.ndarray, rows: list[int], level: str) -> float:
    """The row's multiplier, or the limit's shadow price Σ g ∂b/∂field (NaN without one)."""
    if level == "row":
        return float(prices[rows[0]])
    key = _row_key(block, rows[0])
    if key is None:
        return float("nan")
    rates = np.asarray(block.bound_derivatives[key], dtype=float)
    return float(prices[rows] @ rates[rows])


def _part(solution: Solution, kkt: pd.DataFrame, k: int, rows: list[int]) -> np.ndarray:
    """Σ over ``rows`` of the row's part of stationarity, A_rᵀ g_r."""
    block, prices = solution.blocks[k], solution.multipliers[k]
    if block.smooth:
        selected = np.zeros(block.rows)
        selected[rows] = prices[rows]
        return np.asarray(block.pullback(solution.weights, selected), dtype=float)
    others = [
        other.pullback(solution.weights, solution.multipliers[j])
        for j, other in enumerate(solution.blocks)
        if j != k and other.rule == block.rule
    ]
    column = kkt[block.rule].to_numpy(dtype=float)
    return column - sum(others, np.zeros(len(column)))


TERMS = {
    "WithTradingCosts": ("trading costs", "cost_aversion"),
    "WithRegularisation": ("regularisation", "l2_regularization"),
}
"""Objective wrappers (an ``inner`` objective plus a term): the piece their term becomes."""


def objective_terms(
    objective: SizingObjective, weights: np.ndarray, sizing: np.ndarray
) -> tuple[np.ndarray, list[Piece]]:
    """The sizing gradient split into the innermost objective's part and one piece per term a
    wrapper adds (trading costs, regularisation), peeled from the outside in.

    Where the inner objective is smooth its part is its gradient; at a kink of both, the
    inner part is put nearest the middle of the term's band and the term takes the rest.
    """
    pieces = []
    while isinstance(objective, AddedTerms):
        inner = objective.inner
        inner_low, inner_high = inner.subgradient(weights)
        low, high = objective.subgradient(weights)
        middle = 0.5 * ((low - inner_low) + (high - inner_high))
        inner_part = np.clip(sizing - middle, inner_low, inner_high)
        label, rule = TERMS.get(type(objective).__name__, (type(objective).__name__, ""))
        term = sizing - inner_part
        if np.any(term != 0):
            pieces.append(Piece(label, rule, "", label, np.nan, term, OBJECTIVE_TERM))
        objective, sizing = inner, inner_part
    return sizing, pieces


@dataclass(frozen=True, eq=False)
class Curvature:
    """The objective's Hessian H (diagonal kept as a vector), factored once."""

    diagonal: np.ndarray | None
    matrix: np.ndarray | None
    factor: tuple[np.ndarray, bool] | None

    @classmethod
    def of(cls, objective: SizingObjective, weights: np.ndarray) -> Curvature:
        """H of the inner objective at ``weights``; the tier distance's for top-slice.

        Raises
        ------
        Undefined
            When the objective has no Hessian or it is not positive definite.
        """
        objective = innermost(objective)
        if isinstance(objective, Proportional):
            return cls(1.0 / objective.shares, None, None)
        if isinstance(objective, TieredDeviation | TieredTopSlice):
            return cls(1.0 / objective.raw, None, None)
        hessian = objective.hessian(weights)
        if hessian is None:
            raise UndefinedError("the sizing objective has no second derivative at the answer")
        try:
            factor = cho_factor(hessian, lower=True)
        except LinAlgError:
            raise UndefinedError(
                "the objective's curvature is singular (a covariance or return history of "
                "lower rank than the assets): no unique reference portfolio"
            ) from None
        return cls(None, np.asarray(hessian, dtype=float), factor)

    def times(self, values: np.ndarray) -> np.ndarray:
        """H @ values (a vector or a matrix of columns)."""
        if self.diagonal is not None:
            scale = self.diagonal if values.ndim == 1 else self.diagonal[:, None]
            return scale * values
        assert self.matrix is not None  # one of the two is always set
        return self.matrix @ values

    def solve(self, values: np.ndarray) -> np.ndarray:
        """H⁻¹ @ values."""
        if self.diagonal is not None:
            scale = self.diagonal if values.ndim == 1 else self.diagonal[:, None]
            return values / scale
        assert self.factor is not None
        return np.asarray(cho_solve(self.factor, values), dtype=float)


def reduced_inverse(
    curvature: Curvature, rows: np.ndarray | None
) -> Callable[[np.ndarray], np.ndarray]:
    """M: H⁻¹ (no reference rows) or the reduced-Hessian inverse Z(ZᵀHZ)⁻¹Zᵀ on the null
    space Z of the reference rows, as a function of a vector or matrix of columns."""

    def apply(values: np.ndarray) -> np.ndarray:
        solved = curvature.solve(values)
        if rows is None:
            return solved
        across = curvature.solve(rows.T)  # n × e
        schur = rows @ across
        return solved - across @ np.linalg.solve(schur, rows @ solved)

    return apply
