"""Solution → explanations: constraint table, KKT attribution, reasons, sensitivities.

At the optimum every member asset satisfies the stationarity identity
``∂f/∂w_i + Σ_rules (Aᵀ g)_i = 0``: the marginal value of the sizing objective is paid for by
the prices g of the limits that touch the asset. Each rule's part is one column of the
explanations; the ``sizing`` column is computed from the weights alone (not from the duals),
so the ``residual`` column is a real check of the solver's answer.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from portcon._text import percent
from portcon.constraints.base import Sense
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.sizing.objectives import TieredDeviation, TieredTopSlice

BINDING_TOLERANCE = 1e-7
FLOOR_MARK = " (floor)"
STRUCTURAL_RULES = ("long_only",)
GROUP_KIND = {
    "max_bucket_allocation": "bucket",
    "bucket_caps": "bucket",
    "max_sector_allocation": "sector",
    "sector_caps": "sector",
}


def constraint_table(solution: Solution) -> pd.DataFrame:
    """One row per constraint row: rule, subject, sense, bound, value, slack, shadow price."""
    if not solution.blocks:
        return constraint_table_empty()
    rules, subjects, senses, bounds, values, slacks = [], [], [], [], [], []
    for block in solution.blocks:
        value = block.values(solution.weights)
        bound = block.bound_values(solution.bounds)
        rules += [block.rule] * block.rows
        subjects += list(block.subjects)
        senses += [str(block.sense)] * block.rows
        bounds.append(bound)
        values.append(value)
        slacks.append(value - bound if block.sense == Sense.GE else bound - value)
    slack = np.concatenate(slacks)
    return pd.DataFrame(
        {
            "rule": rules,
            "subject": subjects,
            "sense": senses,
            "bound": np.concatenate(bounds),
            "value": np.concatenate(values),
            "slack": slack,
            "shadow_price": np.concatenate(solution.multipliers),
            "binding": np.abs(slack) <= BINDING_TOLERANCE,
        }
    )


def constraint_table_empty() -> pd.DataFrame:
    """An empty constraint table with the usual columns."""
    columns = ["rule", "subject", "sense", "bound", "value", "slack", "shadow_price", "binding"]
    return pd.DataFrame(columns=columns)


def attribution(program: Program, solution: Solution) -> pd.DataFrame:
    """Per member asset: the sizing term, each rule's part of stationarity, and the residual."""
    columns: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(program.members)))
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        columns[block.rule] = columns[block.rule] + block.pullback(solution.weights, prices)
    paid = sum(columns.values(), np.zeros(len(program.members)))
    lower, upper = program.objective.subgradient(solution.weights)
    sizing = np.clip(-paid, lower, upper)
    frame = pd.DataFrame({"sizing": sizing, **columns}, index=list(program.assets))
    frame["residual"] = sizing + paid
    return frame


def sensitivity(program: Program, solution: Solution) -> pd.DataFrame:
    """Per Limits field: decrease of the minimised objective per unit increase of the field."""
    totals: dict[str, float] = defaultdict(float)
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        for field, derivative in block.bound_derivatives.items():
            totals[field] += float(prices @ derivative)
    for field, derivative in program.objective.limit_derivatives(
        solution.weights, solution.auxiliary_duals
    ).items():
        totals[field] -= derivative
    rows = [(field, _limit_value(program, field), price) for field, price in totals.items()]
    frame = pd.DataFrame(rows, columns=["field", "value", "shadow_price"]).set_index("field")
    return frame.sort_index()


def _limit_value(program: Program, field: str) -> float:
    if "[" in field:
        name, key = field.rstrip("]").split("[", 1)
        return float(getattr(program.limits, name)[key])
    return float(getattr(program.limits, field))


def reasons(
    program: Program, solution: Solution, table: pd.DataFrame
) -> dict[str, tuple[str, str]]:
    """Asset → (binding limits, plain-sentence reason) for every asset of the universe."""
    result = {asset: ("", reason) for asset, reason in program.exclusions.items()}
    holding = _binding_rows_by_asset(solution, table)
    for position, asset in enumerate(program.assets):
        weight = float(solution.weights[position])
        limits = holding[position]
        names = ", ".join(dict.fromkeys(rule.removesuffix(FLOOR_MARK) for rule, _, _ in limits))
        result[asset] = (names, _reason(program, asset, position, weight, limits))
    return result


def _binding_rows_by_asset(
    solution: Solution, table: pd.DataFrame
) -> list[list[tuple[str, str, float]]]:
    """For each member asset, (rule, subject, shadow price) of the binding limit rows on it."""
    skipped = ("target_allocation", *STRUCTURAL_RULES)
    binding = table["binding"].to_numpy(dtype=bool) & ~table["rule"].isin(skipped).to_numpy()
    holding: list[list[tuple[str, str, float]]] = [[] for _ in solution.weights]
    offset = 0
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        floor = block.sense == Sense.GE
        for row in np.flatnonzero(binding[offset : offset + block.rows]):
            rule = f"{block.rule}{FLOOR_MARK}" if floor else block.rule
            for asset in block.row_members(row):
                holding[asset].append((rule, block.subjects[row], float(prices[row])))
        offset += block.rows
    return holding


def _reason(
    program: Program,
    asset: str,
    position: int,
    weight: float,
    limits: list[tuple[str, str, float]],
) -> str:
    own = [(rule, price) for rule, subject, price in limits if subject == asset]
    caps = [rule for rule, _ in own if not rule.endswith(FLOOR_MARK)]
    floors = [rule.removesuffix(FLOOR_MARK) for rule, _ in own if rule.endswith(FLOOR_MARK)]
    shared = "; ".join(
        _shared_limit(rule, subject, price) for rule, subject, price in limits if subject != asset
    )
    if weight <= 0:
        if asset in program.count_reasons:
            price = max((p for rule, p in own), default=0.0)
            value = (
                f"; each unit (100%) of it would lower the objective by {price:.3g}"
                if price > 1e-9
                else ""
            )
            return f"not held: {program.count_reasons[asset]}{value}"
        return f"not held: {shared or f'{program.sizing.phrase} gives it no weight'}"
    if caps:
        head = f"capped at {percent(weight)} by {caps[0]}"
    elif floors:
        head = f"held at its floor {percent(weight)} ({floors[0]})"
    else:
        head = _sizing_sentence(program, position, weight)
    if asset in program.count_notes:
        head = f"{head}; {program.count_notes[asset]}"
    return f"{head}; {shared}" if shared else head


def _shared_limit(rule: str, subject: str, price: float) -> str:
    """A binding limit shared with other assets: a group cap or a portfolio-wide limit."""
    if rule in GROUP_KIND:
        return f"{subject} {GROUP_KIND[rule]} cap binding ({rule}, shadow price {price:.3g})"
    return f"{rule} binding (shadow price {price:.3g})"


def _sizing_sentence(program: Program, position: int, weight: float) -> str:
    objective = program.objective
    if isinstance(objective, TieredDeviation | TieredTopSlice):
        raw = float(objective.raw[position])
        if weight > raw + BINDING_TOLERANCE:
            extra = weight - raw
            return f"raw tier size {percent(raw)} + {percent(extra)} top-slice residual"
        if weight < raw - BINDING_TOLERANCE:
            return f"raw tier size {percent(raw)} scaled to {percent(weight)} to fit the limits"
        return f"held at raw tier size {percent(raw)}"
    return f"sized {percent(weight)} by {program.sizing.phrase}"


def cash_reason(program: Program, solution: Solution, table: pd.DataFrame) -> str:
    """Why part of target_allocation is uninvested (empty when it is all invested)."""
    target = program.limits.target_allocation
    if not len(program.members):
        return f"no asset is eligible: {percent(target)} target stays in cash"
    if solution.cash <= BINDING_TOLERANCE:
        return ""
    objective = program.objective
    invested = target - solution.cash
    if isinstance(objective, TieredDeviation):
        why = "residual_strategy 'cash' keeps what the raw tier sizes leave"
    else:
        binding = table[
            table["binding"] & ~table["rule"].isin(("target_allocation", *STRUCTURAL_RULES))
        ]
        counts = binding["rule"].value_counts()
        held_by = ", ".join(f"{rule} ({count} rows)" for rule, count in counts.items())
        why = f"every eligible asset is at a binding limit: {held_by}"
    return (
        f"{percent(solution.cash)} of target_allocation {percent(target)} rolled to cash: the "
        f"limits absorb {percent(invested)}; {why}"
    )
