"""Hard floors and group relations: rows that hold whatever happens.

- ``floor_weight`` (scores column) and ``asset_floors`` (Limits): w_i ≥ l_i, the larger of
  the two per asset, each row reported against the source that sets it.
- ``min_bucket_allocation`` / ``bucket_floors`` and the sector pair: Σ_{i∈g} w_i ≥ l_g.
- ``group_relations``: Σ_g c_g Σ_{i∈g} w_i <sense> b per relation.

A row's multiplier g is its shadow price: the decrease of the optimum per unit increase of
its bound. For a floor g ≤ 0 (raising a binding floor costs), so −g is what one unit less
of the floor would save. Compile-time checks (which assets, which groups, the sums) live in
:mod:`portcon.constraints.floor_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense
from portcon.constraints.groups import GroupCap
from portcon.constraints.keys import LimitKey
from portcon.constraints.positions import _PerAssetRule

if TYPE_CHECKING:
    from portcon.limits.relations import Relation

RELATIONS = "group_relations"


class ColumnFloor(_PerAssetRule):
    """w_i ≥ floor_weight_i from the scores' ``floor_weight`` column (always held).

    Dual: what one unit less of the floor would lower the objective by (negated price).
    """

    limit = "floor_weight"
    sense = Sense.GE


class AssetFloor(_PerAssetRule):
    """w_i ≥ asset_floors[i] (Limits; always held).

    Dual: what one unit less of the floor would lower the objective by (negated price).
    """

    limit = "asset_floors"
    sense = Sense.GE


@dataclass(frozen=True, eq=False)
class GroupFloor(GroupCap):
    """Σ_{i∈g} w_i ≥ floor_g for every floored group of one kind (bucket or sector).

    The global field (``min_bucket_allocation``) and the per-name floors (``bucket_floors``)
    are separate blocks, each reported against its own field, as for caps.
    """

    def blocks(self) -> list[RowBlock]:
        return [replace(block, sense=Sense.GE) for block in super().blocks()]


@dataclass(frozen=True, eq=False)
class GroupRelations(Rule):
    """Σ_g c_g W_g <sense> b for each relation, W_g the total weight of group g.

    ``rows`` holds one coefficient row over the members per relation. Relations of one sense
    share a block; each row's bound derivative is keyed ``group_relations[<text>]``.
    """

    relations: tuple[Relation, ...]
    rows: np.ndarray

    def _by_sense(self) -> list[tuple[Sense, list[int]]]:
        found: list[tuple[Sense, list[int]]] = []
        for sense in (Sense.LE, Sense.GE, Sense.EQ):
            chosen = [k for k, r in enumerate(self.relations) if r.sense == str(sense)]
            if chosen:
                found.append((sense, chosen))
        return found

    def _parameter(self, sense: Sense) -> str:
        return f"{RELATIONS}:{sense}"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            self._parameter(sense): np.array([self.relations[k].constant for k in chosen])
            for sense, chosen in self._by_sense()
        }

    def blocks(self) -> list[RowBlock]:
        blocks = []
        for sense, chosen in self._by_sense():
            unit = np.eye(len(chosen))
            blocks.append(
                RowBlock(
                    rule=RELATIONS,
                    subjects=tuple(self.relations[k].text for k in chosen),
                    sense=sense,
                    coefficients=sp.csr_array(self.rows[chosen]),
                    parameter=self._parameter(sense),
                    bound_derivatives={
                        LimitKey(RELATIONS, self.relations[k].text): unit[row]
                        for row, k in enumerate(chosen)
                    },
                )
            )
        return blocks


def per_asset_floor(
    kind: type[ColumnFloor] | type[AssetFloor],
    assets: tuple[str, ...],
    positions: np.ndarray,
    floors: np.ndarray,
    size: int,
) -> ColumnFloor | AssetFloor:
    """The floor rows of one source over the members at ``positions``."""
    chosen = tuple(assets[int(k)] for k in positions)
    unit = np.eye(len(chosen))
    derivatives = {LimitKey(kind.limit, name): unit[row] for row, name in enumerate(chosen)}
    every = len(positions) == size
    return kind(
        chosen,
        np.asarray(floors, dtype=float),
        derivatives,
        None if every else np.asarray(positions),
        None if every else size,
    )
