"""Independent check of hard floors and group relations, in plain numpy.

Shares no code with the rules (portcon/constraints/floors.py): it reads the ``floor_weight``
column, the Limits floors and each relation's parsed terms, and recomputes every total.
"""

from __future__ import annotations

import numpy as np

from portcon.limits import Limits
from portcon.limits.relations import parsed_relations
from portcon.universe import Universe


def floor_violations(
    w: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    """Every hard floor or relation the weights break by more than ``tolerance``."""
    found = []
    column = universe.floor_weight
    if column is not None:
        with np.errstate(invalid="ignore"):
            under = ~np.isnan(column) & (w < column - tolerance)
        for k in np.flatnonzero(under):  # words only for the floors broken
            name, floor = str(universe.assets[int(k)]), column[k]
            found.append(f"floor_weight {name}: {w[k]:.10f} < {floor:.10f}")
    if limits.asset_floors:
        position = {str(a): k for k, a in enumerate(universe.assets.to_numpy(dtype=object))}
        for name, floor in limits.asset_floors.items():
            weight = float(w[position[name]]) if name in position else 0.0
            if weight < floor - tolerance:
                found.append(f"asset_floors {name}: {weight:.10f} < {floor:.10f}")
    for kind, every, named in (
        ("bucket", limits.min_bucket_allocation, limits.bucket_floors),
        ("sector", limits.min_sector_allocation, limits.sector_floors),
    ):
        labels = universe.bucket if kind == "bucket" else universe.sector
        if labels is None or (every is None and not named):
            continue  # no floor of this kind
        for group in sorted(set(labels)):
            floor = named.get(group, every)
            total = float(w[labels == group].sum())
            if floor is not None and total < floor - tolerance:
                found.append(f"{kind} floor {group}: {total:.10f} < {floor:.10f}")
    found.extend(_relation_violations(w, universe, limits, tolerance))
    return found


def _relation_violations(
    w: np.ndarray, universe: Universe, limits: Limits, tolerance: float
) -> list[str]:
    found = []
    for relation in parsed_relations(limits.group_relations):
        text = relation.text
        total = 0.0
        for (kind, name), coefficient in relation.terms:
            matched = [
                labels
                for label_kind, labels in (("bucket", universe.bucket), ("sector", universe.sector))
                if labels is not None and kind in (None, label_kind) and name in set(labels)
            ]
            if len(matched) != 1:
                found.append(f"group_relations '{text}': group '{name}' not found once")
                continue
            total += coefficient * float(w[matched[0] == name].sum())
        gap = total - relation.constant
        broken = {"<=": gap > tolerance, ">=": gap < -tolerance, "==": abs(gap) > tolerance}
        if broken[relation.sense]:
            found.append(
                f"group_relations '{text}': {total:.10f} {relation.sense} "
                f"{relation.constant:.10f} fails"
            )
    return found
