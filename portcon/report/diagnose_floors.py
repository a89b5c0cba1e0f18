"""How the infeasibility diagnosis relaxes and repairs hard floors and group relations.

Floors loosen downwards. A relation ``Σ c_g W_g <= b`` loosens as b rises, a ``>=`` one as b
falls; an ``==`` relation is not relaxed (it is named only through the other limits). A
repair of a relation rewrites it with the moved constant (``Tech - 2 * Healthcare <= 0.05``);
a ``floor_weight`` is a column of the scores, so its repair is said in words, not offered as
a Limits change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from portcon._text import percent
from portcon.constraints.floors import RELATIONS, ColumnFloor
from portcon.constraints.keys import LimitKey
from portcon.limits.floor_fields import FLOOR_FIELDS
from portcon.limits.relations import parse_relation

if TYPE_CHECKING:
    from portcon.limits import Limits
    from portcon.optimizer.program import Program

LOWERED_FLOORS = (*FLOOR_FIELDS, ColumnFloor.limit)
SPECIAL = (RELATIONS, ColumnFloor.limit)


def floor_direction(key: LimitKey) -> float | None:
    """−1 for a floor, ±1 for a relation by its sense, 0 for an ``==`` relation (not relaxed);
    None for any other field."""
    if key.field in LOWERED_FLOORS:
        return -1.0
    if key.field == RELATIONS and key.name is not None:
        return {"<=": 1.0, ">=": -1.0, "==": 0.0}[parse_relation(key.name).sense]
    return None


def relation_repair(limits: Limits, key: LimitKey, moved: float) -> dict[str, Any] | None:
    """``group_relations`` with relation ``key.name`` rewritten with constant ``moved``; None
    for a floor_weight key (a column, not a Limits field)."""
    if key.field != RELATIONS or key.name is None:
        return None
    rewritten = parse_relation(key.name).with_constant(moved)
    return {RELATIONS: [rewritten if text == key.name else text for text in limits.group_relations]}


def describe_relation(key: LimitKey, limits: Limits, change: dict[str, Any]) -> str:
    """The repair of a relation in words."""
    new = next(text for text in change[RELATIONS] if text not in limits.group_relations)
    return f"rewrite group_relations '{key.name}' as '{new}'"


def column_sentence(program: Program, key: LimitKey, amount: float, margin: float) -> str:
    """'lower the floor_weight of A0 (scores column) to 3.0%': the column floor's repair."""
    universe = program.universe
    assets = [str(a) for a in universe.assets]
    column = universe.floor_weight
    current = 0.0
    if column is not None and key.name in assets:
        current = float(np.nan_to_num(column[assets.index(key.name)]))
    moved = max(0.0, current - amount * (1 + margin) - margin)
    return f"lower the floor_weight of {key.name} (scores column) to {percent(moved)}"
