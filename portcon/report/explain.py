"""Solution → explanations: constraint table, KKT attribution, reasons, sensitivities.

At the optimum every member asset satisfies the stationarity identity
``∂f/∂w_i + Σ_rules (Aᵀ g)_i = 0``: the marginal value of the sizing objective is paid for by
the prices g of the limits that touch the asset. Each rule's part is one column of the
explanations; the ``sizing`` column is computed from the weights alone (not from the duals),
so the ``residual`` column is a real check of the solver's answer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon._text import limit_unit, percent
from portcon.constraints.base import Sense, TurnoverBlock, slack
from portcon.constraints.exposure import GrossExposureBlock
from portcon.constraints.keys import LimitKey, group_kind
from portcon.constraints.tail import ScenarioCVaRBlock
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.report.exposure_reasons import SHORT, chosen_cash, short_reason
from portcon.sizing.costs import AT_CURRENT, WithTradingCosts
from portcon.sizing.wrapped import innermost

BINDING_TOLERANCE = 1e-7
GROUP_FLOOR_KINDS = {
    "min_bucket_allocation": "bucket",
    "bucket_floors": "bucket",
    "min_sector_allocation": "sector",
    "sector_floors": "sector",
}
STRUCTURAL_RULES = ("long_only",)


@dataclass(frozen=True)
class BindingRow:
    """A binding constraint row touching an asset: its rule, subject, price and direction."""

    rule: str
    subject: str
    price: float
    floor: bool
    pinned: bool = False


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
        slacks.append(slack(block.sense, value, bound))
    gaps = np.concatenate(slacks)
    return pd.DataFrame(
        {
            "rule": rules,
            "subject": subjects,
            "sense": senses,
            "bound": np.concatenate(bounds),
            "value": np.concatenate(values),
            "slack": gaps,
            "shadow_price": np.concatenate(solution.multipliers),
            "binding": np.abs(gaps) <= BINDING_TOLERANCE,
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
    lower, upper = program.require_objective().subgradient(solution.weights)
    sizing = np.clip(-paid, lower, upper)
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        # at a kink (turnover, gross exposure, CVaR) the row takes what closes the identity
        if isinstance(block, TurnoverBlock | GrossExposureBlock | ScenarioCVaRBlock):
            width = block.kink(solution.weights, prices)
            part = np.clip(-paid - sizing, -width, width)
            columns[block.rule] = columns[block.rule] + part
            paid = paid + part
    frame = pd.DataFrame({"sizing": sizing, **columns}, index=list(program.assets))
    frame["residual"] = sizing + paid
    return frame


def limit_prices(program: Program, solution: Solution) -> dict[LimitKey, float]:
    """Per Limits field (or per-name entry): decrease of the minimised objective per unit
    increase of it."""
    totals: dict[LimitKey, float] = defaultdict(float)
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        for key, derivative in block.bound_derivatives.items():
            totals[key] += float(prices @ derivative)
    objective = program.require_objective()
    for key, moved in objective.limit_derivatives(
        solution.weights, solution.auxiliary_duals
    ).items():
        totals[key] -= moved
    return dict(totals)


def sensitivity(program: Program, solution: Solution) -> pd.DataFrame:
    """One row per limit entry, indexed by its printed label (``bucket_caps[Tech]``).

    Columns: ``field`` and ``group`` (the typed key: the Limits field and, for per-name
    fields, the name), ``value``, ``shadow_price`` (decrease of the objective, whose meaning
    and unit the program's objective states, per unit of the field) and ``unit`` (what one
    unit of the field is).
    """
    keys = sorted(limit_prices(program, solution).items(), key=lambda item: str(item[0]))
    index = pd.Index([str(key) for key, _ in keys], name="limit", dtype=object)
    return pd.DataFrame(
        {
            "field": pd.Series([key.field for key, _ in keys], index=index, dtype=object),
            "group": pd.Series([key.name for key, _ in keys], index=index, dtype=object),
            "value": pd.Series([key.value(program.limits) for key, _ in keys], index=index),
            "shadow_price": pd.Series([price for _, price in keys], index=index, dtype=float),
            "unit": pd.Series(
                [limit_unit(key.field) for key, _ in keys], index=index, dtype=object
            ),
        },
        index=index,
    )


def reasons(
    program: Program, solution: Solution, table: pd.DataFrame
) -> dict[str, tuple[str, str]]:
    """Asset → (binding limits, plain-sentence reason) for every asset of the universe."""
    result = {asset: ("", reason) for asset, reason in program.exclusions.items()}
    holding = binding_rows_by_asset(solution, table)
    for position, asset in enumerate(program.assets):
        weight = float(solution.weights[position])
        limits = holding[position]
        names = ", ".join(dict.fromkeys(row.rule for row in limits))
        result[asset] = (names, _reason(program, asset, position, weight, limits))
    return result


def binding_rows_by_asset(solution: Solution, table: pd.DataFrame) -> list[list[BindingRow]]:
    """For each member asset, the binding limit rows on it."""
    skipped = ("target_allocation", *STRUCTURAL_RULES)
    binding = table["binding"].to_numpy(dtype=bool) & ~table["rule"].isin(skipped).to_numpy()
    holding: list[list[BindingRow]] = [[] for _ in solution.weights]
    offset = 0
    for block, prices in zip(solution.blocks, solution.multipliers, strict=True):
        floor, pinned = block.sense == Sense.GE, block.sense == Sense.EQ
        for row in np.flatnonzero(binding[offset : offset + block.rows]):
            price = float(prices[row])
            found = BindingRow(block.rule, block.subjects[row], price, floor, pinned)
            for asset in block.row_members(row):
                holding[asset].append(found)
        offset += block.rows
    return holding


def _reason(
    program: Program,
    asset: str,
    position: int,
    weight: float,
    limits: list[BindingRow],
) -> str:
    own = [row for row in limits if row.subject == asset]
    pins = [row.rule for row in own if row.pinned]
    caps = [row.rule for row in own if not row.floor and not row.pinned]
    floors = [row.rule for row in own if row.floor]
    shared = "; ".join(_shared_limit(row) for row in limits if row.subject != asset)
    if weight < -SHORT:
        head = short_reason(asset, weight, limits, program.sizing.phrase)
        return f"{head}; {shared}" if shared else head
    if weight <= 0:
        if asset in program.count_reasons:
            price = max((row.price for row in own), default=0.0)
            value = (
                f"; at 0, its first 1 pt would lower the objective by about {price / 100:.3g}"
                if price > 1e-9
                else ""
            )
            return f"not held: {program.count_reasons[asset]}{value}"
        return f"not held: {shared or f'{program.sizing.phrase} gives it no weight'}"
    if pins:
        head = f"pinned at {percent(weight)} by {pins[0]}"
    elif caps:
        head = f"capped at {percent(weight)} by {caps[0]}"
    elif floors:
        head = f"held at its floor {percent(weight)} ({floors[0]})"
    else:
        head = _sizing_sentence(program, position, weight)
    if asset in program.count_notes:
        head = f"{head}; {program.count_notes[asset]}"
    return f"{head}; {shared}" if shared else head


def _shared_limit(row: BindingRow) -> str:
    """A binding limit shared with other assets: a group cap or a portfolio-wide limit."""
    kind = group_kind(row.rule)
    price = f"shadow price {row.price:.3g}"
    if kind is not None:
        return f"{row.subject} {kind} cap binding ({row.rule}, {price})"
    if row.rule in GROUP_FLOOR_KINDS:
        return f"{row.subject} {GROUP_FLOOR_KINDS[row.rule]} floor binding ({row.rule}, {price})"
    if row.rule == "group_relations":
        return f"group relation '{row.subject}' binding ({price})"
    return f"{row.rule} binding ({price})"


def _sizing_sentence(program: Program, position: int, weight: float) -> str:
    objective = program.objective
    if (
        isinstance(objective, WithTradingCosts)
        and abs(weight - float(objective.current[position])) <= AT_CURRENT
    ):
        return (
            f"held at its current {percent(weight)}: inside the no-trade band (moving it "
            "would cost more than it adds)"
        )
    sized_by = None if objective is None else innermost(objective)
    return program.sizing.sentence(program, sized_by, position, weight)


def cash_reason(program: Program, solution: Solution, table: pd.DataFrame) -> str:
    """Why part of target_allocation is uninvested (empty when it is all invested).

    Cash the objective chose (it costs a free-cash objective nothing), and rollover: cash the
    limits could not absorb, with the binding rules that stopped it. Cash kept by
    target_allocation itself is not part of this reason.
    """
    target = program.limits.target_allocation
    if not len(program.members):
        return f"no asset is eligible: {percent(target)} target stays in cash"
    if solution.cash <= BINDING_TOLERANCE:
        return ""
    objective = program.require_objective()
    invested = target - solution.cash
    if chosen_cash(program):
        choice = objective.cash_choice or (
            f"min_net_exposure {percent(program.limits.min_net_exposure or 0.0)} lets it choose "
            "the net exposure up to target_allocation"
        )
        return (
            f"{percent(solution.cash)} of target_allocation {percent(target)} chosen by the "
            f"objective as cash: {choice}"
        )
    skipped = ("target_allocation", *STRUCTURAL_RULES)
    binding = table[table["binding"] & ~table["rule"].isin(skipped)]
    counts = binding["rule"].value_counts()
    held_by = ", ".join(f"{rule} ({count} rows)" for rule, count in counts.items())
    return (
        f"{percent(solution.cash)} of target_allocation {percent(target)} rolled to cash: the "
        f"limits absorb {percent(invested)}; binding: {held_by or 'none'}"
    )
