"""Active-set Newton polish of an interior-point answer.

Interior-point solvers stop a little inside the feasible set: weights are accurate to about
the solver tolerance only where the problem is well conditioned. At a degenerate optimum (a
raw size exactly at its cap) or along the flat direction of a binding volatility cone they
drift by ~1e-6. Polishing takes the active set the solver points to, solves the KKT
conditions of that equality-constrained problem by Newton's method, and corrects the active
set (a violated row joins it, a row with a wrong-signed multiplier leaves it) for a few
rounds. The result is kept only if every row is feasible, every multiplier has its sign and
the stationarity residual is smaller than before: then it is a KKT point, certified.
Otherwise the solver's answer stands.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from portcon.constraints.base import Block, RowBlock, Sense, slack
from portcon.optimizer import factor_kkt
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution

ACTIVE = 1e-7
LEANING = 1e-4  # a row this close to its bound, with a smaller slack than price, starts active
LARGEST = 1500  # dense KKT systems beyond this size cost more than they are worth
LARGEST_SPARSE = 20_000  # a factor-form Hessian's KKT system is solved sparse (factor_kkt.py)
STEPS = 8
ROUNDS = 12
CONVERGED = 1e-14
SOLVED = 1e-10  # the KKT system of the active set must be solved at least this well
FEASIBLE = 1e-12
SIGN = 1e-9
ALREADY_EXACT = 1e-10  # stationarity residual below which the solver's answer is kept as is

Row = tuple[int, int]


def polish(program: Program, solution: Solution, complementary: bool = True) -> Solution:
    """A more exact solution (a certified KKT point), or ``solution`` unchanged.

    With ``complementary=False`` (the solver left rows both nearly slack and nearly priced)
    the polish runs even when stationarity already looks exact, since complementarity does
    not, and it is kept when its residual is at most the larger of the old one and 1e-10.
    """
    weights = solution.weights
    if not all(block.smooth for block in solution.blocks):
        return solution  # a turnover row has no gradient where a weight stays put
    before = _residual(program, solution, weights, solution.multipliers)
    if complementary and before <= ALREADY_EXACT:
        return solution  # before asking for the Hessian: a dense one is N x N to build
    if not _curved(program, weights):
        return solution
    if not complementary:
        before = max(before, SOLVED)
    active = initial_active(solution)
    for _ in range(ROUNDS):
        point, prices = _solve_on(program, solution, active)
        if point is None:
            return solution
        violated = _most_violated(solution, point, active)
        if violated is not None:
            active.add(violated)
            continue
        wrong = _most_wrongly_signed(solution, prices, active)
        if wrong is not None:
            active.discard(wrong)
            continue
        if _residual(program, solution, point, prices) > before:
            return solution
        cash = max(0.0, float(program.limits.target_allocation - point.sum()))
        return dataclasses.replace(
            solution,
            weights=point,
            cash=cash,
            multipliers=prices,
            objective=program.require_objective().value(point, cash),
        )
    return solution


def slacks(block: Block, solution: Solution, weights: np.ndarray) -> np.ndarray:
    """Each row's slack at ``weights`` (≥ 0 when the row holds) under the solution's bounds."""
    return slack(block.sense, block.values(weights), block.bound_values(solution.bounds))


def pinned(block: Block, solution: Solution) -> bool:
    """Rows whose multiplier is pinned by the cash penalty: cash absorbs them."""
    return block.includes_cash and solution.cash > ACTIVE


def row_asset(block: Block, row: int) -> int | None:
    """The single asset a per-asset bound row fixes, or None for a general row."""
    selected = _bound_assets(block)
    return None if selected is None else int(selected[row])


def _bound_assets(block: Block) -> np.ndarray | None:
    """The asset each row of a per-asset bound block fixes, or None for general rows."""
    if not isinstance(block, RowBlock) or block.sense == Sense.EQ:
        return None
    return block.selected_assets()


def initial_active(solution: Solution) -> set[Row]:
    """The rows the solver's answer points to as active: (block index, row) pairs.

    Equality rows, rows within 1e-7 of their bound, and rows leaning on it (within 1e-4, with
    a smaller slack than price); rows whose price the cash penalty pins are left out.
    """
    active: set[Row] = set()
    for k, block in enumerate(solution.blocks):
        if pinned(block, solution):
            continue
        slack = np.abs(slacks(block, solution, solution.weights))
        price = np.abs(solution.multipliers[k])
        for r in range(block.rows):
            leaning = slack[r] <= LEANING and slack[r] < price[r]
            if block.sense == Sense.EQ or slack[r] <= ACTIVE or leaning:
                active.add((k, r))
    return active


def _solve_on(
    program: Program, solution: Solution, active: set[Row]
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Newton on the KKT system of the active set; the point and every row's multiplier."""
    blocks = solution.blocks
    fixed: dict[int, tuple[Row, float]] = {}
    general: list[Row] = []
    per_block: dict[int, tuple[np.ndarray | None, np.ndarray]] = {}  # once per block, not row
    for k, r in sorted(active):
        if k not in per_block:
            per_block[k] = (_bound_assets(blocks[k]), blocks[k].bound_values(solution.bounds))
        assets, bounds = per_block[k]
        if assets is not None:
            fixed.setdefault(int(assets[r]), ((k, r), float(bounds[r])))
        else:
            general.append((k, r))
    free = np.array([i for i in range(len(solution.weights)) if i not in fixed], dtype=int)
    point = solution.weights.copy()
    for asset, (_, bound) in fixed.items():
        point[asset] = bound
    constant = _pinned_part(solution)
    lam = np.array([solution.multipliers[k][r] for k, r in general], dtype=float)
    for _ in range(STEPS):
        gradients = row_gradients(blocks, general, point)
        stationarity = _gradient(program, point) + gradients.T @ lam + constant
        gaps = np.array(
            [
                blocks[k].values(point)[r] - blocks[k].bound_values(solution.bounds)[r]
                for k, r in general
            ]
        )
        residual = np.concatenate([stationarity[free], gaps])
        if residual.size == 0 or np.max(np.abs(residual)) < CONVERGED:
            break
        active_rows = [(blocks[k], value) for (k, _), value in zip(general, lam, strict=True)]
        step = _step(program, active_rows, point, (gradients, free, residual))
        if step is None:
            return None, []
        point[free] += step[: len(free)]
        lam += step[len(free) :]
    gradients = row_gradients(blocks, general, point)
    stationarity = _gradient(program, point) + gradients.T @ lam + constant
    final_gaps = [
        blocks[k].values(point)[r] - blocks[k].bound_values(solution.bounds)[r] for k, r in general
    ]
    unsolved = np.concatenate([stationarity[free], np.asarray(final_gaps, dtype=float)])
    if not np.all(np.isfinite(point)) or (unsolved.size and np.max(np.abs(unsolved)) > SOLVED):
        return None, []
    prices = [np.zeros(block.rows) for block in blocks]
    for k, block in enumerate(blocks):
        if pinned(block, solution):
            prices[k] = solution.multipliers[k].copy()
    for (k, r), multiplier in zip(general, lam, strict=True):
        prices[k][r] = multiplier
    stationarity = _gradient(program, point) + _paid(blocks, point, prices)
    for asset, ((k, r), _) in fixed.items():
        prices[k][r] = -stationarity[asset]
    return point, prices


def _pinned_part(solution: Solution) -> np.ndarray:
    constant = np.zeros(len(solution.weights))
    for k, block in enumerate(solution.blocks):
        if pinned(block, solution):
            constant += pullback(block, solution.weights, solution.multipliers[k])
    return constant


def _most_violated(solution: Solution, point: np.ndarray, active: set[Row]) -> Row | None:
    worst, row = -FEASIBLE, None
    for k, block in enumerate(solution.blocks):
        if block.sense == Sense.EQ or pinned(block, solution):
            continue
        slack = slacks(block, solution, point)
        for r in np.flatnonzero(slack < worst):
            if (k, int(r)) not in active:
                worst, row = float(slack[r]), (k, int(r))
    return row


def _most_wrongly_signed(
    solution: Solution, prices: list[np.ndarray], active: set[Row]
) -> Row | None:
    worst, row = SIGN, None
    for k, r in active:
        block = solution.blocks[k]
        if block.sense == Sense.EQ:
            continue
        wrongness = -prices[k][r] if block.sense == Sense.LE else prices[k][r]
        if wrongness > worst:
            worst, row = wrongness, (k, r)
    return row


def row_gradients(blocks: list[Block], rows: list[Row], point: np.ndarray) -> np.ndarray:
    """The gradients of the given (block index, row) rows at ``point``, one row each."""
    if not rows:
        return np.zeros((0, len(point)))
    return np.vstack([blocks[k].gradients(point)[r] for k, r in rows])


def _gradient(program: Program, point: np.ndarray) -> np.ndarray:
    lower, _ = program.require_objective().subgradient(point)
    return lower


def _paid(blocks: list[Block], point: np.ndarray, prices: list[np.ndarray]) -> np.ndarray:
    return sum(
        (pullback(block, point, price) for block, price in zip(blocks, prices, strict=True)),
        np.zeros(len(point)),
    )


def pullback(block: Block, point: np.ndarray, price: np.ndarray) -> np.ndarray:
    """``block.pullback(point, price)``, for a linear block without scipy building Aᵀ.

    ``coefficients.T @ price`` runs scipy's CSC product over the transpose: for each row j
    of A in turn, ``y[i] += A[j, i] * price[j]`` over the row's entries in stored order,
    from y = 0. ``np.bincount`` with the same products in the same order adds them in that
    order from 0 too, so the result is the same, bit for bit (tested); building the
    transpose cost ~30 µs per block at N = 500. Other blocks and dtypes go to ``pullback``.
    """
    if not isinstance(block, RowBlock) or type(block).pullback is not RowBlock.pullback:
        return block.pullback(point, price)
    matrix, values = block.coefficients, np.asarray(price)
    if (
        getattr(matrix, "format", None) != "csr"
        or matrix.nnz == 0  # bincount of nothing is an integer array
        or matrix.dtype != np.float64
        or values.dtype != np.float64
        or values.shape != (matrix.shape[0],)
    ):
        return block.pullback(point, price)
    products = matrix.data * np.repeat(values, np.diff(matrix.indptr))
    return np.bincount(matrix.indices, weights=products, minlength=matrix.shape[1])


def _curved(program: Program, weights: np.ndarray) -> bool:
    """True when the objective states its curvature at a size the polish can afford: in factor
    form up to LARGEST_SPARSE weights (no N × N matrix), as a dense Hessian up to LARGEST."""
    objective = program.require_objective()
    if objective.hessian_parts(weights) is not None:
        return len(weights) <= LARGEST_SPARSE
    return len(weights) <= LARGEST and objective.hessian(weights) is not None


def _step(
    program: Program,
    rows: list[tuple[Block, float]],
    point: np.ndarray,
    system: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray | None:
    """The Newton step at ``point`` for (row gradients, free weights, residual): sparse on the
    objective's factor form when no active row adds curvature of its own (a cone row), else
    on the dense Hessian (None past LARGEST, or without a Hessian)."""
    objective = program.require_objective()
    parts = objective.hessian_parts(point)
    curvatures: list[np.ndarray] = []
    for block, value in rows:
        curvature = block.curvature(point, np.array([value]))
        if curvature is not None:
            curvatures.append(curvature)
    if parts is not None and not curvatures:
        sparse = factor_kkt.newton_step(parts, *system)
        if sparse is not None or len(point) > LARGEST:
            return sparse
    hessian = objective.hessian(point) if len(point) <= LARGEST else None
    if hessian is None:  # polish() runs only for objectives with a Hessian
        return None
    return _newton_step(sum(curvatures, hessian), *system)


def _newton_step(
    hessian: np.ndarray, gradients: np.ndarray, free: np.ndarray, residual: np.ndarray
) -> np.ndarray:
    jacobian_rows = gradients[:, free]
    size = len(free) + len(jacobian_rows)
    system = np.zeros((size, size))
    system[: len(free), : len(free)] = hessian[np.ix_(free, free)]
    system[: len(free), len(free) :] = jacobian_rows.T
    system[len(free) :, : len(free)] = jacobian_rows
    try:
        step, *_ = np.linalg.lstsq(system, -residual, rcond=None)
    except np.linalg.LinAlgError:
        return np.full(size, np.nan)  # the caller sees a non-finite point and keeps the solver's
    return step


def _residual(
    program: Program, solution: Solution, point: np.ndarray, prices: list[np.ndarray]
) -> float:
    stationarity = _gradient(program, point) + _paid(solution.blocks, point, prices)
    return float(np.max(np.abs(stationarity), initial=0.0))
