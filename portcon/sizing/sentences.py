"""How a sizing mode set one weight, in words: the head of an asset's explanation.

Each sentence says where the residual went: a raw size plus a top-slice residual, a raw size
scaled down to fit, a share plus the residual spread in proportion, or cash reinvested below
``rollover_threshold``; a position opened now says it was scaled by ``size_adjustment_factor``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portcon._text import percent
from portcon.sizing.objectives import (
    Proportional,
    Reinvested,
    SizingObjective,
    TieredDeviation,
    TieredTopSlice,
)
from portcon.sizing.residual import stage_one

if TYPE_CHECKING:
    from portcon.optimizer.program import Program
    from portcon.sizing.modes import Sizing

AT_RAW = 1e-7  # a weight this close to its raw size is "at" it (solver accuracy)
SHOWN = 5e-4  # a spread smaller than this would print as +0.0%: not worth a clause


def size_sentence(
    sizing: Sizing,
    program: Program,
    objective: SizingObjective | None,
    position: int,
    weight: float,
) -> str:
    """The sentence for member ``position`` at ``weight`` under ``objective`` (unwrapped of
    trading costs and regularisation)."""
    head = _head(sizing, program, objective, position, weight)
    factor = sizing.limits.size_adjustment_factor
    current = program.universe.current_weight
    if factor is not None and current is not None and current[program.members[position]] <= 0:
        head = f"{head} (a new position: × size_adjustment_factor {factor:g})"
    return head


def _head(
    sizing: Sizing,
    program: Program,
    objective: SizingObjective | None,
    position: int,
    weight: float,
) -> str:
    if isinstance(objective, Reinvested):
        before = float(objective.before[position])
        head = _head(sizing, program, objective.first, position, before)
        extra = weight - before
        if extra <= AT_RAW:
            return head
        return (
            f"{head}, + {percent(extra)} reinvested (the {percent(objective.leftover)} left in "
            f"cash was below rollover_threshold {percent(objective.threshold)})"
        )
    if isinstance(objective, TieredDeviation | TieredTopSlice):
        raw, name = float(objective.raw[position]), objective.raw_name
        if weight > raw + AT_RAW:
            kind = "top-slice residual" if isinstance(objective, TieredTopSlice) else "residual"
            return f"{name} {percent(raw)} + {percent(weight - raw)} {kind}"
        if weight < raw - AT_RAW:
            return f"{name} {percent(raw)} scaled to {percent(weight)} to fit the limits"
        return f"held at {name} {percent(raw)}"
    sized = f"sized {percent(weight)} by {sizing.phrase}"
    if not (isinstance(objective, Proportional) and sizing.by_score):
        return sized
    raw = float(stage_one(program.raw, sizing.limits, sizing.absolute).sizes[position])
    if weight > raw + SHOWN:
        spread = percent(weight - raw)
        return f"{sized}: {sizing.raw_name} {percent(raw)} + {spread} residual spread in proportion"
    if sizing.absolute and weight < raw - SHOWN:
        return f"{sizing.raw_name} {percent(raw)} scaled to {percent(weight)} to fit the limits"
    return sized
