"""The constraint prices a constraint attribution uses, where the solver's are not unique.

Two cases, both where the binding limits fix the answer more than once over:

- A name a count rule left out of the chosen support is held at 0 by two rows, ``w ≤ 0`` (the
  count rule) and ``w ≥ 0`` (long only); only the sum of their prices is defined. The count
  rule takes it: on the chosen support, it is what keeps the name out.
- With rollover the budget's price is the cash penalty, an arbitrary large number, and every
  binding limit's price is measured against it (all ~ the penalty, cancelling in the sum). The
  same answer solves the program with the budget fixed at the invested amount, whose prices
  form a set; the attribution takes the smallest (least squares) with the right signs, found in
  the null space of the binding rows' gradients, so stationarity holds exactly as before.
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np

from portcon.constraints.base import RowBlock, Sense
from portcon.optimizer.polish import LARGEST, pinned
from portcon.optimizer.solution import Solution

Row = tuple[int, int]
NULL = 1e-10  # singular values below this (relative to the largest) span the null space


def attribution_multipliers(solution: Solution, binding: np.ndarray) -> tuple[Solution, str]:
    """The solution with the prices the attribution uses, and a note when they differ from
    the solver's beyond the count rows taking their names' long-only prices."""
    multipliers, emptied = _count_rows_take_their_names(solution, binding)
    solution = dataclasses.replace(solution, multipliers=multipliers)
    if not any(pinned(block, solution) for block in solution.blocks):
        return solution, ""
    rows = _active(solution, binding, emptied)
    weights = solution.weights
    if len(weights) > LARGEST or not all(solution.blocks[k].smooth for k, _ in rows):
        return solution, "prices as the solver gave them (measured against the cash penalty)"
    gradients = np.vstack([solution.blocks[k].gradients(weights)[r] for k, r in rows])
    start = np.array([multipliers[k][r] for k, r in rows])
    null = _null_space(gradients.T)
    if null.shape[1] == 0:
        return solution, ""
    chosen = _smallest(start, null, [solution.blocks[k].sense for k, _ in rows])
    if chosen is None:
        return solution, "prices as the solver gave them (measured against the cash penalty)"
    for (k, r), value in zip(rows, chosen, strict=True):
        multipliers[k][r] = value
    note = (
        "with rollover the limits' prices are not unique: the smallest valid ones are used "
        "(the budget fixed at the invested amount)"
    )
    return dataclasses.replace(solution, multipliers=multipliers), note


def _count_rows_take_their_names(
    solution: Solution, binding: np.ndarray
) -> tuple[list[np.ndarray], set[Row]]:
    """Copies of the multipliers, with each left-out name's other per-asset prices (long only)
    moved onto its count row (both rows are the unit vector of that name), and the rows so
    emptied."""
    multipliers = [np.array(prices, dtype=float) for prices in solution.multipliers]
    emptied: set[Row] = set()
    count_row: dict[int, Row] = {}
    for k, block in enumerate(solution.blocks):
        if isinstance(block, RowBlock) and block.parameter.startswith("support.excluded"):
            assets = block.selected_assets()
            for r, asset in enumerate(assets if assets is not None else []):
                count_row[int(asset)] = (k, r)
    if not count_row:
        return multipliers, emptied
    offset = 0
    for k, block in enumerate(solution.blocks):
        assets = block.selected_assets() if isinstance(block, RowBlock) else None
        if assets is not None and not block.parameter.startswith("support."):
            for r, asset in enumerate(assets):
                target = count_row.get(int(asset))
                if target is not None and binding[offset + r]:
                    multipliers[target[0]][target[1]] += multipliers[k][r]
                    multipliers[k][r] = 0.0
                    emptied.add((k, r))
        offset += block.rows
    return multipliers, emptied


def _active(solution: Solution, binding: np.ndarray, emptied: set[Row]) -> list[Row]:
    """Rows at their bound (the budget included), but those emptied for the count rows."""
    rows: list[Row] = []
    offset = 0
    for k, block in enumerate(solution.blocks):
        for r in range(block.rows):
            at_bound = bool(binding[offset + r]) or block.sense == Sense.EQ
            if at_bound and (k, r) not in emptied:
                rows.append((k, r))
        offset += block.rows
    return rows


def _null_space(matrix: np.ndarray) -> np.ndarray:
    """An orthonormal basis of {x : matrix @ x = 0}, as columns."""
    _, values, right = np.linalg.svd(matrix, full_matrices=True)
    largest = float(values.max(initial=0.0))
    rank = int(np.sum(values > NULL * max(largest, 1.0)))
    return right[rank:].T


def _smallest(start: np.ndarray, null: np.ndarray, senses: list[Sense]) -> np.ndarray | None:
    """argmin ‖start + N t‖² over t with every price of its sign (≥ 0 for ≤ rows, ≤ 0 for ≥
    rows), or None when the small program fails."""
    shift = cp.Variable(null.shape[1])
    prices = start + null @ shift
    upper = [i for i, sense in enumerate(senses) if sense == Sense.LE]
    lower = [i for i, sense in enumerate(senses) if sense == Sense.GE]
    constraints = []
    if upper:
        constraints.append(prices[upper] >= 0)
    if lower:
        constraints.append(prices[lower] <= 0)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(prices)), constraints)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        return None
    if shift.value is None or problem.status != cp.OPTIMAL:
        return None
    return np.asarray(start + null @ shift.value, dtype=float)
