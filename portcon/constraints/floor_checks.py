"""Hard floors and group relations over a universe: which assets and groups, checked, as rules.

Everything that needs the scores (asset names, groups, eligibility) is checked here, when a
program is compiled, and raises a :class:`~portcon.errors.LimitsError` naming the floor and
the fix: a floor on an unknown or ineligible asset, a group no eligible asset belongs to,
floors summing above ``target_allocation``, a relation naming an unknown group.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from portcon._text import did_you_mean, listing, percent
from portcon.constraints.base import Rule
from portcon.constraints.exposure_checks import shorts_possible
from portcon.constraints.floors import (
    AssetFloor,
    ColumnFloor,
    GroupFloor,
    GroupRelations,
    per_asset_floor,
)
from portcon.constraints.keys import GroupKind
from portcon.errors import LimitsError
from portcon.limits import Limits, SizingMode
from portcon.limits.relations import Relation, parsed_relations
from portcon.universe import Universe

GROUP_FLOOR_FIELDS = (
    (GroupKind.BUCKET, "min_bucket_allocation", "bucket_floors"),
    (GroupKind.SECTOR, "min_sector_allocation", "sector_floors"),
)
SUM_TOLERANCE = 1e-12


def floored_positions(universe: Universe, limits: Limits) -> dict[int, tuple[float, str]]:
    """Universe position → (hard floor, the source setting it) for every floored asset."""
    found: dict[int, tuple[float, str]] = {}
    column = universe.floor_weight
    if column is not None:
        for position in np.flatnonzero(np.nan_to_num(column) > 0):
            found[int(position)] = (float(column[position]), ColumnFloor.limit)
    if not limits.asset_floors:
        return found
    index = {str(asset): k for k, asset in enumerate(universe.assets.to_numpy(dtype=object))}
    unknown = [name for name in limits.asset_floors if name not in index]
    if unknown:
        hint = did_you_mean(unknown[0], index)
        raise LimitsError(f"asset_floors names asset(s) {listing(unknown)} not in the scores{hint}")
    for name, floor in limits.asset_floors.items():
        at = index[name]
        if floor > 0 and floor > found.get(at, (0.0, ""))[0]:
            found[at] = (float(floor), AssetFloor.limit)
    return found


def check_floored(
    universe: Universe,
    limits: Limits,
    floored: Mapping[int, tuple[float, str]],
    exclusions: Mapping[str, str],
) -> None:
    """Every floored asset is eligible, within its caps, and the floors fit the target."""
    for position, (floor, source) in floored.items():
        asset = str(universe.assets[position])
        if asset in exclusions:
            raise LimitsError(
                f"{source} holds {asset} at {percent(floor)} or more, but {asset} is not "
                f"eligible ({exclusions[asset]}); lower min_score_threshold, pin it with a "
                "fixed_weight, or drop the floor"
            )
        cap = limits.max_single_position
        if cap is not None and floor > cap + SUM_TOLERANCE:
            raise LimitsError(
                f"{source} of {asset} ({percent(floor)}) is above max_single_position "
                f"{percent(cap)}; lower the floor or raise the cap"
            )
    total = sum(floor for floor, _ in floored.values())
    if total > _most_invested(universe, limits):
        largest = sorted(floored.items(), key=lambda item: -item[1][0])[:3]
        named = listing(f"{universe.assets[p]} {percent(f)} ({s})" for p, (f, s) in largest)
        raise LimitsError(
            f"per-asset floors sum to {percent(total)}, above target_allocation "
            f"{percent(limits.target_allocation)} (largest: {named}); lower floors or raise "
            "target_allocation"
        )


def check_semicontinuous(universe: Universe, limits: Limits) -> None:
    """risk_parity holds every eligible asset (its log term), so a '0 or at least' minimum
    cannot be met by leaving assets out: refuse it, pointing to the hard floor."""
    if limits.sizing_mode != SizingMode.RISK_PARITY:
        return
    column = universe.min_weight
    named = []
    if limits.min_position_size is not None:
        named.append(f"min_position_size = {limits.min_position_size:g}")
    if column is not None and np.any(np.nan_to_num(column) > 0):
        named.append("a min_weight_if_held column (old name min_weight)")
    if named:
        raise LimitsError(
            f"risk_parity holds every eligible asset, so {' and '.join(named)} ('0 or at "
            "least', a position-count rule) cannot apply; for a floor held whatever happens "
            "use the floor_weight column or asset_floors, or choose another sizing_mode"
        )


def floor_rules(
    universe: Universe,
    limits: Limits,
    members: np.ndarray,
    floored: Mapping[int, tuple[float, str]],
) -> list[Rule]:
    """The floor and relation rules over the program's members."""
    if not len(members):
        return []
    rules: list[Rule] = []
    if floored:
        assets = tuple(str(a) for a in universe.assets.to_numpy(dtype=object)[members])
        slot = {int(p): k for k, p in enumerate(members)}
        for kind in (ColumnFloor, AssetFloor):
            chosen = sorted(slot[p] for p, (_, source) in floored.items() if source == kind.limit)
            if chosen:
                floors = np.array([floored[int(members[k])][0] for k in chosen])
                rules.append(per_asset_floor(kind, assets, np.array(chosen), floors, len(members)))
    rules.extend(_group_floors(universe, limits, members))
    if limits.group_relations:
        relations = parsed_relations(limits.group_relations)
        rows = np.array([_relation_row(universe, members, r) for r in relations])
        rules.append(GroupRelations(relations=relations, rows=rows))
    return rules


def _group_floors(universe: Universe, limits: Limits, members: np.ndarray) -> list[Rule]:
    rules: list[Rule] = []
    for kind, every, named in GROUP_FLOOR_FIELDS:
        floor_all, floors = getattr(limits, every), dict(getattr(limits, named))
        if not floor_all and not floors:
            continue
        labels = universe.groups(kind)
        if labels is None:
            used = every if floor_all else named
            raise LimitsError(
                f"{used} is set but the scores have no '{kind}' column; add the column or "
                "switch the floor off"
            )
        present, held = set(labels), set(labels[members])
        unknown = [name for name in floors if name not in present]
        if unknown:
            raise LimitsError(
                f"{named} names {kind}(s) {listing(unknown)} that no asset has; {kind}s "
                f"present: {listing(sorted(present), limit=12)}"
            )
        wanted = {g: floors.get(g, floor_all or 0.0) for g in present}
        empty = sorted(g for g, floor in wanted.items() if floor > 0 and g not in held)
        if empty:
            raise LimitsError(
                f"{kind} floor on {listing(empty)} but no eligible asset is in it (all below "
                f"the thresholds or excluded); lower the floor to 0 there in {named}"
            )
        total = sum(wanted.values())
        if total > _most_invested(universe, limits):
            raise LimitsError(
                f"{kind} floors ({every}, {named}) sum to {percent(total)} over the "
                f"{len(present)} {kind}s, above target_allocation "
                f"{percent(limits.target_allocation)}; lower them or raise target_allocation"
            )
        rules.append(
            GroupFloor(
                kind=kind,
                labels=labels[members],
                global_field=every,
                global_cap=floor_all or None,
                override_field=named,
                overrides={g: f for g, f in floors.items() if g in held},
            )
        )
    return rules


def _most_invested(universe: Universe, limits: Limits) -> float:
    """What floors may sum to: target_allocation, or no bound when shorts can fund them."""
    if shorts_possible(universe, limits):
        return np.inf
    return limits.target_allocation + SUM_TOLERANCE


def _relation_row(universe: Universe, members: np.ndarray, relation: Relation) -> np.ndarray:
    row = np.zeros(len(members))
    for (kind, name), coefficient in relation.terms:
        labels = _resolve(universe, relation, kind, name)
        row += coefficient * (labels[members] == name)
    return row


def _resolve(universe: Universe, relation: Relation, kind: str | None, name: str) -> np.ndarray:
    found = []
    for candidate in (GroupKind.BUCKET, GroupKind.SECTOR):
        labels = universe.groups(candidate)
        if kind in (None, str(candidate)) and labels is not None and name in set(labels):
            found.append((candidate, labels))
    if len(found) == 1:
        return found[0][1]
    if found:
        raise LimitsError(
            f"group_relations '{relation.text}': '{name}' is both a bucket and a sector; "
            f"write bucket:{name} or sector:{name}"
        )
    known = sorted(
        {str(g) for c in (GroupKind.BUCKET, GroupKind.SECTOR) for g in _labels(universe, c)}
    )
    where = f"{kind}s" if kind else "buckets or sectors"
    raise LimitsError(
        f"group_relations '{relation.text}': no {where} named '{name}'"
        f"{did_you_mean(name, known)}; names present: {listing(known, limit=12)}"
    )


def _labels(universe: Universe, kind: GroupKind) -> np.ndarray:
    labels = universe.groups(kind)
    return np.array([], dtype=object) if labels is None else labels
