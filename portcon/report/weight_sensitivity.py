"""Local what-if without re-solving: how every weight moves per unit of each limit.

At the optimum the active set A (rows at their bound) and its multipliers g satisfy

    ∇f(w) + J_Aᵀ g_A (+ the budget's fixed part when cash is rolled over) = 0,  c_A(w) = b_A(θ).

While A stays the active set, differentiating in a Limits field θ gives one linear system,

    [ ∇²f + Σ g ∇²c   J_Aᵀ ] [dw]   [ −∂∇f/∂θ ]
    [ J_A              0   ] [dg] = [  ∂b_A/∂θ ],

the one :mod:`portcon.optimizer.polish` solves by Newton's method (its active set and row
helpers are reused here). Rows that fix one asset (a cap, w ≥ 0, a pin) leave the system:
that asset moves with its bound. The answer holds until a slack row reaches its bound or an
active row's multiplier reaches zero; the ratio test gives that distance in each direction.
At a kink (a row at its bound with a zero price) one of them is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon.constraints.base import Sense
from portcon.constraints.keys import LimitKey
from portcon.optimizer.polish import (
    initial_active,
    pinned,
    row_asset,
    row_gradients,
    slacks,
)
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.report.weight_moves import WeightSensitivity
from portcon.sizing.objectives import SizingObjective, TieredDeviation
from portcon.sizing.risk_objectives import (
    ExactKelly,
    MaxDiversification,
    MaxSharpe,
    MeanVariance,
    QuadraticKelly,
    RiskParity,
)

Row = tuple[int, int]
INCONSISTENT = 1e-8  # the active set's equations cannot follow the move: it changes at once
NEGLIGIBLE = 1e-12  # rates below this do not move a row toward its bound


@dataclass(frozen=True)
class Active:
    """The active set split as the Newton system needs it."""

    fixed: dict[int, Row]  # asset -> the per-asset row that fixes it
    general: list[Row]  # rows that stay in the system
    free: np.ndarray  # assets not fixed
    held_both_ways: frozenset[int]  # assets fixed by two rows (w ≤ 0 and w ≥ 0): no sign test


@dataclass(frozen=True)
class KeyResponse:
    """One limit key: d weights / d key over the members, d rollover, and how far it holds."""

    weights: np.ndarray
    rollover: float
    up: float
    down: float
    ends_up: str
    ends_down: str


def weight_sensitivity(
    program: Program, solution: Solution | None, cash_label: str, chosen_support: bool
) -> WeightSensitivity:
    """The :class:`WeightSensitivity` of a solved program (empty when nothing was solved)."""
    assets = pd.Index([*program.universe.assets, cash_label])
    if solution is None:
        return WeightSensitivity.empty(assets, "nothing was solved")
    note, responses = local_response(program, solution)
    if chosen_support:
        support = "for the chosen support (the held assets stay fixed)"
        note = f"{note}; {support}" if note else support
    keys = sorted(responses, key=str)
    index = pd.Index([str(key) for key in keys], name="limit", dtype=object)
    full = np.zeros((len(assets) - 1, len(keys)))
    for j, key in enumerate(keys):
        full[program.members, j] = responses[key].weights
    table = pd.DataFrame(np.vstack([full, -full.sum(axis=0)]), index=assets, columns=index)
    moving = _moving(program, solution)
    ranges = pd.DataFrame(
        {
            "field": pd.Series([key.field for key in keys], index=index, dtype=object),
            "group": pd.Series([key.name for key in keys], index=index, dtype=object),
            "value": pd.Series([key.value(program.limits) for key in keys], index=index),
            "binding": [key in moving for key in keys],
            "up": [responses[key].up for key in keys],
            "down": [responses[key].down for key in keys],
            "ends_up": [responses[key].ends_up for key in keys],
            "ends_down": [responses[key].ends_down for key in keys],
        },
        index=index,
    )
    return WeightSensitivity(table, ranges, note)


def _moving(program: Program, solution: Solution) -> set[LimitKey]:
    """Keys that move a row of the active set, or the objective."""
    active = _active(solution)
    moving = set(objective_moves(program.require_objective(), solution.weights))
    for k, r in [*active.general, *active.fixed.values()]:
        for key, rates in solution.blocks[k].bound_derivatives.items():
            if abs(float(np.asarray(rates)[r])) > 0:
                moving.add(key)
    return moving


def local_response(program: Program, solution: Solution) -> tuple[str, dict[LimitKey, KeyResponse]]:
    """Per limit key, the members' weight derivatives by implicit differentiation of the KKT
    system at the solution's active set, and the range over which they hold; with a note
    when they cannot be derived (NaN then)."""
    objective = program.require_objective()
    weights = solution.weights
    hessian = objective.hessian(weights)
    keys = {key for block in solution.blocks for key in block.bound_derivatives}
    depends = set(objective.limit_derivatives(weights, solution.auxiliary_duals))
    moved = objective_moves(objective, weights)
    note = _unsupported(objective) or (
        "" if hessian is not None else "the sizing objective is not twice differentiable"
    )
    note = note or _kink_note(solution)
    underived = depends - set(moved)
    if underived and not note:
        note = f"not derived: how the objective moves with {', '.join(map(str, underived))}"
    if hessian is None or note.startswith(("max_sharpe", "the sizing", "a kink")):
        return note, {key: _unknown(len(weights)) for key in keys | depends}
    active = _active(solution)
    for k, r in active.general:
        curvature = solution.blocks[k].curvature(weights, np.array([solution.multipliers[k][r]]))
        if curvature is not None:
            hessian = hessian + curvature
    responses = {}
    for key in keys | set(moved):
        direction = _direction(solution, active, hessian, key, moved)
        responses[key] = _response(program, solution, active, key, direction)
    responses.update({key: _unknown(len(weights)) for key in underived})
    return note, responses


def _kink_note(solution: Solution) -> str:
    """Why no derivative is given when a nonsmooth row (gross exposure, turnover) holds an
    asset at its kink: it stays there until its stationarity leaves the kink's band, an event
    the active-set system does not see."""
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        kink = getattr(block, "kink", None)
        if kink is not None and np.any(kink(solution.weights, prices) > 0):
            return f"a kink of {block.rule} holds some weights in place (nonsmooth): not derived"
    return ""


def _unknown(size: int) -> KeyResponse:
    return KeyResponse(np.full(size, np.nan), np.nan, np.nan, np.nan, "", "")


def _unsupported(objective: SizingObjective) -> str:
    if isinstance(objective, MaxSharpe):  # max_diversification is one too (σ for μ)
        mode = "max_diversification" if isinstance(objective, MaxDiversification) else "max_sharpe"
        return (
            f"{mode}: γ* moves with every limit, so the weights' derivative is not that of "
            "the mean-variance program at fixed γ*; not derived"
        )
    return ""


def objective_moves(objective: SizingObjective, weights: np.ndarray) -> dict[LimitKey, np.ndarray]:
    """∂∇f/∂θ at ``weights`` for the Limits fields the objective depends on (where derived)."""
    if type(objective) is MeanVariance:
        exposures, specific = objective.market.require_risk()
        return {LimitKey("risk_aversion"): _sigma_times(exposures, specific, weights)}
    if isinstance(objective, QuadraticKelly):
        exposures, specific = objective.market.require_risk()
        moved = -_sigma_times(exposures, specific, weights) / objective.fraction**2
        return {LimitKey("kelly_fraction"): moved}
    if isinstance(objective, ExactKelly):
        denominator = objective.fraction + objective.returns @ weights
        per_period = objective.returns / (denominator**2)[:, None]
        return {LimitKey("kelly_fraction"): per_period.mean(axis=0)}
    if isinstance(objective, TieredDeviation):
        moved = -weights / objective.raw**2 * objective.raw_per_base
        return {LimitKey(objective.base_field): moved}
    if isinstance(objective, RiskParity):
        log_weight = np.asarray(objective.parameters()["sizing.log_weight"], dtype=float)
        moved = -2.0 / objective.target * log_weight / weights
        return {LimitKey("target_allocation"): moved}
    return {}


def _sigma_times(exposures: np.ndarray, specific: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return exposures @ (exposures.T @ weights) + specific**2 * weights


def _active(solution: Solution) -> Active:
    fixed: dict[int, Row] = {}
    general: list[Row] = []
    twice: set[int] = set()
    for k, r in sorted(initial_active(solution)):
        asset = row_asset(solution.blocks[k], r)
        if asset is None:
            general.append((k, r))
        elif asset in fixed:  # e.g. an excluded asset of a chosen support: w ≤ 0 and w ≥ 0
            twice.add(asset)
        else:
            fixed[asset] = (k, r)
    free = np.array([i for i in range(len(solution.weights)) if i not in fixed], dtype=int)
    return Active(fixed, general, free, frozenset(twice))


def _bound_rate(solution: Solution, row: Row, key: LimitKey) -> float:
    k, r = row
    derivative = solution.blocks[k].bound_derivatives.get(key)
    return 0.0 if derivative is None else float(np.asarray(derivative)[r])


Direction = tuple[np.ndarray, list[np.ndarray], float, bool]


def _direction(
    solution: Solution,
    active: Active,
    hessian: np.ndarray,
    key: LimitKey,
    moved: dict[LimitKey, np.ndarray],
) -> Direction:
    """(dw, dg per block, d rollover, consistent) for one key."""
    blocks, weights = solution.blocks, solution.weights
    size = len(weights)
    d_weights = np.zeros(size)
    for asset, row in active.fixed.items():
        d_weights[asset] = _bound_rate(solution, row, key)
    mixed = moved.get(key, np.zeros(size))
    gradients = row_gradients(blocks, active.general, weights)
    free = active.free
    top = -(mixed + hessian @ d_weights)[free]
    bottom = np.array([_bound_rate(solution, row, key) for row in active.general]) - (
        gradients @ d_weights
    )
    jacobian = gradients[:, free]
    system = np.block(
        [[hessian[np.ix_(free, free)], jacobian.T], [jacobian, np.zeros((len(bottom),) * 2)]]
    )
    rhs = np.concatenate([top, bottom])
    step, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    consistent = bool(np.max(np.abs(system @ step - rhs), initial=0.0) <= INCONSISTENT)
    d_weights[free] = step[: len(free)]
    d_prices = [np.zeros(block.rows) for block in blocks]
    for (k, r), rate in zip(active.general, step[len(free) :], strict=True):
        d_prices[k][r] = rate
    paid = hessian @ d_weights + mixed + gradients.T @ step[len(free) :]
    for asset, (k, r) in active.fixed.items():
        d_prices[k][r] = -paid[asset]
    d_rollover = 0.0
    for k, block in enumerate(blocks):
        if pinned(block, solution):
            d_rollover = _bound_rate(solution, (k, 0), key) - float(block.values(d_weights)[0])
    return d_weights, d_prices, d_rollover, consistent


def _response(
    program: Program, solution: Solution, active: Active, key: LimitKey, direction: Direction
) -> KeyResponse:
    """The key's derivatives and how far it may rise and fall before the active set changes."""
    d_weights, d_prices, d_rollover, consistent = direction
    if not consistent or not np.all(np.isfinite(d_weights)):
        ends = "the active set (its rows cannot follow the move)"
        return KeyResponse(d_weights, d_rollover, 0.0, 0.0, ends, ends)
    margins = _margins(program, solution, active, key, d_weights, d_prices)
    if any(pinned(block, solution) for block in solution.blocks):
        margins.append((solution.cash, d_rollover, "rolled-over cash reaches 0"))
    up = min(
        ((max(v, 0.0) / -rate, name) for v, rate, name in margins if rate < -NEGLIGIBLE),
        default=(np.inf, ""),
    )
    down = min(
        ((max(v, 0.0) / rate, name) for v, rate, name in margins if rate > NEGLIGIBLE),
        default=(np.inf, ""),
    )
    return KeyResponse(d_weights, d_rollover, up[0], down[0], up[1], down[1])


Margin = tuple[float, float, str]


def _margins(
    program: Program,
    solution: Solution,
    active: Active,
    key: LimitKey,
    d_weights: np.ndarray,
    d_prices: list[np.ndarray],
) -> list[Margin]:
    """(distance ≥ 0, its rate per unit of the key, what it is) for every inequality: slack
    of inactive rows, signed price of active ones, and the price of holding no cash."""
    rows = set(active.general) | set(active.fixed.values())
    margins: list[Margin] = []
    for k, block in enumerate(solution.blocks):
        if pinned(block, solution):
            continue
        slack = slacks(block, solution, solution.weights)
        moves = block.gradients(solution.weights) @ d_weights
        for r in range(block.rows):
            name = f"{block.rule} ({block.subjects[r]})"
            if block.sense == Sense.EQ:
                if block.includes_cash:
                    margins.append(_cash_price(program, solution, k, d_prices[k][0]))
                continue
            sign = 1.0 if block.sense == Sense.LE else -1.0
            if (k, r) in rows:
                if row_asset(block, r) in active.held_both_ways:
                    continue  # its multiplier is split between two rows: no sign to keep
                price = sign * float(solution.multipliers[k][r])
                margins.append((price, sign * float(d_prices[k][r]), f"{name} price reaches 0"))
            else:
                rate = sign * (_bound_rate(solution, (k, r), key) - float(moves[r]))
                margins.append((float(slack[r]), rate, f"{name} reaches its bound"))
    return margins


def _cash_price(program: Program, solution: Solution, k: int, d_price: float) -> Margin:
    """With no cash rolled over, the budget's price g stays above −ρ (ρ: a unit of cash's
    cost); below it, rolling cash over would be cheaper than investing."""
    objective = program.require_objective()
    penalty = objective.value(solution.weights, 1.0) - objective.value(solution.weights, 0.0)
    price = penalty + float(solution.multipliers[k][0])
    return price, float(d_price), "cash starts to be rolled over"
